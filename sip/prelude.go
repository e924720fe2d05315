package sip

import (
	"sync"
	"sync/atomic"
	"time"
)

// A digest call begins before its trace does: the first INVITE is
// challenged (401/407) and acknowledged, and only the INVITE with
// credentials starts the call and its trace. The prelude keeps, per
// Call-ID, the challenged INVITE, the challenge and its ACK, so the call's
// trace (and the console's ladder) shows the whole exchange. It is bounded
// in Call-IDs, in messages per Call-ID and in age: a flood of unanswered
// INVITEs only pushes out older preludes.
const (
	maxPreludes        = 256
	maxPreludeMessages = 8
	preludeTTL         = 32 * time.Second // Timer B: the challenged INVITE's transaction is over by then
)

type prelude struct {
	started time.Time
	entries []TraceEntry
}

var (
	preludesMu   sync.Mutex
	preludes     = map[string]*prelude{}
	preludeOrder []string // Call-IDs, oldest first (may name taken ones)
	preludeCount atomic.Int64
)

// startPrelude keeps the challenged INVITE of callID.
func startPrelude(callID string, e TraceEntry) {
	preludesMu.Lock()
	defer preludesMu.Unlock()
	if _, ok := preludes[callID]; ok {
		appendPreludeLocked(callID, e)
		return
	}
	for len(preludes) >= maxPreludes && len(preludeOrder) > 0 {
		delete(preludes, preludeOrder[0])
		preludeOrder = preludeOrder[1:]
	}
	if len(preludeOrder) > 4*maxPreludes { // taken ones left behind
		kept := preludeOrder[:0]
		for _, id := range preludeOrder {
			if _, ok := preludes[id]; ok {
				kept = append(kept, id)
			}
		}
		preludeOrder = kept
	}
	preludes[callID] = &prelude{started: e.Time, entries: []TraceEntry{e}}
	preludeOrder = append(preludeOrder, callID)
	preludeCount.Store(int64(len(preludes)))
}

// appendPrelude adds a message (the challenge, the ACK, retransmissions)
// to callID's prelude, if it has one.
func appendPrelude(callID string, e TraceEntry) {
	preludesMu.Lock()
	defer preludesMu.Unlock()
	appendPreludeLocked(callID, e)
}

func appendPreludeLocked(callID string, e TraceEntry) {
	p := preludes[callID]
	if p != nil && len(p.entries) < maxPreludeMessages {
		p.entries = append(p.entries, e)
	}
}

// takePrelude returns and forgets callID's prelude, if it is recent.
func takePrelude(callID string) []TraceEntry {
	if preludeCount.Load() == 0 {
		return nil
	}
	preludesMu.Lock()
	defer preludesMu.Unlock()
	p := preludes[callID]
	if p == nil {
		return nil
	}
	delete(preludes, callID)
	preludeCount.Store(int64(len(preludes)))
	if time.Since(p.started) > preludeTTL {
		return nil
	}
	return p.entries
}
