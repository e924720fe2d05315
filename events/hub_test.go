package events

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestHubFanOutAndLimits(t *testing.T) {
	h := New(Limits{Subscribers: 3, PerAccount: 2, Buffer: 2, Recent: 3, Accounts: 2}, slog.New(slog.DiscardHandler))
	a1, err := h.Subscribe("a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := h.Subscribe("a")
	if _, err := h.Subscribe("a"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third of one account: %v", err)
	}
	b, _ := h.Subscribe("b")
	if _, err := h.Subscribe("c"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("past the node's cap: %v", err)
	}

	h.Publish("a", KindCall, map[string]string{"callId": "c-1"})
	if m := <-a1.C(); m.Kind != KindCall || string(m.Data) != `{"callId":"c-1"}` {
		t.Fatalf("a1 got %+v", m)
	}
	// a2 does not read: its buffer (2) fills and the rest is dropped,
	// without the publisher waiting.
	for i := range 5 {
		h.Publish("a", KindCall, i)
	}
	if d := a2.Dropped(); d != 4 { // the first message and one more fit
		t.Fatalf("a2 dropped %d", d)
	}
	if len(b.C()) != 0 {
		t.Fatal("b got another account's messages")
	}

	// Closing a subscription frees its slot.
	a1.Close()
	a1.Close()
	n := 0
	for range a1.C() { // what was queued, then the channel closes
		n++
	}
	if n != 2 {
		t.Fatalf("a1 had %d queued", n)
	}
	if _, err := h.Subscribe("c"); err != nil {
		t.Fatalf("after a close: %v", err)
	}

	// Debug entries are kept, the last Recent of them, for Accounts accounts.
	for i := range 5 {
		h.Debug("b", Debug{Kind: DebugRefused, Status: 400 + i})
	}
	got := h.Recent("b")
	if len(got) != 3 {
		t.Fatalf("recent: %d", len(got))
	}
	for i, m := range got {
		want := fmt.Sprintf(`"status":%d`, 402+i)
		if m.Kind != KindDebug || !strings.Contains(string(m.Data), want) {
			t.Errorf("recent[%d] = %s, want %s", i, m.Data, want)
		}
	}
	h.Debug("x", Debug{Kind: DebugModule})
	h.Debug("y", Debug{Kind: DebugModule})
	if h.Recent("b") != nil || len(h.Recent("y")) != 1 {
		t.Fatal("the oldest account's entries should go")
	}

	h.Close()
	for range b.C() { // the debug entries, then the close
	}
	if _, err := h.Subscribe("a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	h.Publish("a", KindCall, 1) // no panic on closed channels
}

// Publishers, subscribers coming and going, and Close, all at once (run
// with -race): nothing blocks, nothing panics on a closed channel.
func TestHubConcurrent(t *testing.T) {
	h := New(Limits{Buffer: 4}, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				h.Publish("a", KindCall, i)
				h.Debug("a", Debug{Kind: DebugModule, Message: fmt.Sprint(p, i)})
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				s, err := h.Subscribe("a")
				if err != nil {
					return // closed, or at the cap
				}
				select {
				case <-s.C():
				default:
				}
				s.Close()
			}
		}()
	}
	h.Close()
	wg.Wait()
	if n := len(h.Recent("a")); n > DefaultLimits.Recent {
		t.Errorf("recent: %d", n)
	}
}

// BenchmarkPublish prices what a call pays per state change: nobody
// watching (the common case), and four consoles watching.
func BenchmarkPublish(b *testing.B) {
	type call struct {
		CallID, State, From, To string
	}
	ev := call{"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85", "answered", "+15550001111", "+15550002222"}
	b.Run("no subscriber", func(b *testing.B) {
		h := New(Limits{}, slog.New(slog.DiscardHandler))
		b.ReportAllocs()
		for b.Loop() {
			h.Publish("a", KindCall, ev)
		}
	})
	b.Run("4 subscribers", func(b *testing.B) {
		h := New(Limits{}, slog.New(slog.DiscardHandler))
		for range 4 {
			s, _ := h.Subscribe("a")
			go func() {
				for range s.C() {
				}
			}()
		}
		defer h.Close()
		b.ReportAllocs()
		for b.Loop() {
			h.Publish("a", KindCall, ev)
		}
	})
}
