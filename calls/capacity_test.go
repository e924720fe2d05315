package calls

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/events"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// An application at its cap refuses the next INVITE with 503 and
// Retry-After, before any media port is taken, and the next createCall with
// ErrCapacity; a call that ends frees its slot.
func TestApplicationCap(t *testing.T) {
	b := newBed(t, Limits{PerApplication: 1})
	feed := &fakeFeed{}
	b.e.feed = feed
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	first := newFakeInbound()
	done := b.invite(first)
	waitClosed(t, first.answered, "first call answered")
	inUse := b.e.media.Pool().InUse()

	second := newFakeInbound()
	waitClosed(t, b.invite(second), "second call refused")
	status, _ := second.rejection()
	if status != 503 || !slices.Contains(second.rejectHdrs, sip.Header{Name: "Retry-After", Value: "5"}) {
		t.Fatalf("second call: %d %v", status, second.rejectHdrs)
	}
	if got := b.e.media.Pool().InUse(); got != inUse {
		t.Fatalf("a refused call took media ports: %d in use, was %d", got, inUse)
	}
	// The account's debugger hears of it as of any refused INVITE.
	feed.mu.Lock()
	refused := slices.IndexFunc(feed.debug, func(d events.Debug) bool {
		return d.Kind == events.DebugRefused && d.Status == 503 && d.Reason == "capacity" && d.ApplicationID == b.app.ID && d.Source == "127.0.0.1:5062"
	})
	feed.mu.Unlock()
	if refused < 0 {
		t.Errorf("no refusal in the feed: %+v", feed.debug)
	}
	_, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111", AnswerURL: "http://app.test/answer"})
	if !errors.Is(err, ErrCapacity) {
		t.Fatalf("createCall at the cap: %v", err)
	}
	// The application's own setting overrides the node default.
	b.app.MaxConcurrentCalls = 2
	if _, err := b.store.UpdateApplication(context.Background(), b.app); err != nil {
		t.Fatal(err)
	}
	third := newFakeInbound()
	b.invite(third)
	waitClosed(t, third.answered, "third call answered under the application's own cap")

	first.end(sip.EndRemoteBye)
	waitClosed(t, done, "first call end")
	fourth := newFakeInbound()
	b.invite(fourth)
	waitClosed(t, fourth.answered, "a call after one ended")
}

// One source address gets PerSource calls; exempt sources (trunks) more.
func TestSourceCap(t *testing.T) {
	trunk := netip.MustParseAddr("192.0.2.10")
	b := newBed(t, Limits{PerSource: 1, Exempt: func(a netip.Addr) bool { return a == trunk }})
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	a := newFakeInbound()
	b.invite(a)
	waitClosed(t, a.answered, "first call")
	c := newFakeInbound()
	waitClosed(t, b.invite(c), "second call from the same source")
	if status, _ := c.rejection(); status != 503 {
		t.Fatalf("second call from one source: %d", status)
	}
	for range 2 {
		tc := newFakeInbound()
		b.inviteFrom(tc, netip.AddrPortFrom(trunk, 5060))
		waitClosed(t, tc.answered, "a trunk's call past the per-source cap")
	}
	// Per-account caps count every application of the account.
	other, err := b.store.CreateApplication(context.Background(), store.Application{AccountID: b.acct, Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	b.e.limits = Limits{PerAccount: 1}
	_, err = b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: other.ID, To: "sip:bob@x.test", From: "+15550001111", AnswerURL: "http://app.test/answer"})
	if !errors.Is(err, ErrCapacity) {
		t.Fatalf("createCall past the account's cap: %v", err)
	}
}
