package sip

import (
	"fmt"
	"testing"
	"time"
)

func TestPreludeBounds(t *testing.T) {
	t.Cleanup(func() {
		preludesMu.Lock()
		preludes, preludeOrder = map[string]*prelude{}, nil
		preludeCount.Store(0)
		preludesMu.Unlock()
	})
	now := time.Now()
	startPrelude("a", TraceEntry{Time: now, Message: "INVITE"})
	for i := range maxPreludeMessages + 3 {
		appendPrelude("a", TraceEntry{Time: now, Message: fmt.Sprint("SIP/2.0 407 ", i)})
	}
	appendPrelude("nobody", TraceEntry{Time: now, Message: "ACK"}) // no INVITE was challenged: not kept
	if got := takePrelude("a"); len(got) != maxPreludeMessages || got[0].Message != "INVITE" {
		t.Fatalf("prelude a: %d entries", len(got))
	}
	if takePrelude("a") != nil || takePrelude("nobody") != nil {
		t.Fatal("a prelude is taken once; none for a Call-ID never challenged")
	}

	// A flood of challenged INVITEs keeps the newest maxPreludes.
	for i := range 3 * maxPreludes {
		startPrelude(fmt.Sprint("flood-", i), TraceEntry{Time: now, Message: "INVITE"})
	}
	if n := preludeCount.Load(); n != maxPreludes {
		t.Fatalf("%d preludes kept", n)
	}
	if takePrelude("flood-0") != nil || takePrelude(fmt.Sprint("flood-", 3*maxPreludes-1)) == nil {
		t.Fatal("the oldest should go, the newest stay")
	}
	// An old one is not used.
	startPrelude("old", TraceEntry{Time: now.Add(-2 * preludeTTL), Message: "INVITE"})
	if takePrelude("old") != nil {
		t.Fatal("a prelude older than its transaction was used")
	}
}
