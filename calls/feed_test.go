package calls

import (
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/events"
	"github.com/wasmvoice/wasmvoice/store"
)

type fakeFeed struct {
	mu     sync.Mutex
	states []string
	debug  []events.Debug
}

func (f *fakeFeed) CallChanged(rec store.CallRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, rec.State)
}

func (f *fakeFeed) Debug(_ string, d events.Debug) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.debug = append(f.debug, d)
}

// The feed hears a call begin, get answered and end, and the log lines the
// debugger shows; a live call's log can be read while it is up.
func TestFeedAndLiveLog(t *testing.T) {
	b := newBed(t)
	feed := &fakeFeed{}
	b.e.feed = feed
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	id := b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID
	waitClosed(t, leg.answered, "answer")

	c, ok := b.e.Call(b.acct, id)
	if !ok {
		t.Fatal("call not live")
	}
	c.Logf(slog.LevelInfo, "module", "guest says hello")
	c.Logf(slog.LevelInfo, "engine", "routine")
	c.Logf(slog.LevelError, "callback", "initiate failed: 500")
	logs, _, ok := b.e.LiveCallLog(b.acct, id)
	if !ok || !slices.ContainsFunc(logs, func(e store.LogEntry) bool { return e.Message == "guest says hello" }) {
		t.Fatalf("live log %v %v", logs, ok)
	}
	if _, _, ok := b.e.LiveCallLog("another-account", id); ok {
		t.Error("another account reads the call's log")
	}

	if err := b.e.HangupCall(b.acct, id); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, done, "call end")
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if !slices.Equal(feed.states, []string{stateInitiated, stateAnswered, stateDisconnected}) {
		t.Errorf("states %v", feed.states)
	}
	var kinds []string
	for _, d := range feed.debug {
		if d.CallID != id || d.ApplicationID != b.app.ID {
			t.Errorf("entry %+v", d)
		}
		kinds = append(kinds, d.Kind)
	}
	if !slices.Equal(kinds, []string{events.DebugModule, events.DebugWebhook}) {
		t.Errorf("debugger entries %v (an info line of the engine is not one)", kinds)
	}
}
