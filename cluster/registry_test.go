package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/store"
)

type countingReconciler struct {
	mu  sync.Mutex
	ids []string
}

func (c *countingReconciler) ReconcileNode(_ context.Context, id string, _ time.Time) (calls.Recovery, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
	return calls.Recovery{Calls: 1}, nil
}

// Of two live nodes that find a dead one at once, exactly one reconciles
// it; a node that leaves on purpose is reconciled by none; a node that was
// declared dead while it ran registers again at its next beat.
func TestRegistryReapsOnce(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := &countingReconciler{}
	newReg := func(id string) *Registry {
		r := New(Config{Store: st, Self: store.Node{ID: id}, Heartbeat: time.Second, Reconciler: rec})
		if err := r.Register(ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, dead, leaving := newReg("a"), newReg("b"), newReg("dead"), newReg("leaving")
	if err := leaving.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(time.Minute) }
	a.now, b.now = later, later
	for _, r := range []*Registry{a, b} { // a and b beat at "later"; dead and leaving do not
		r.beat(ctx)
	}
	var wg sync.WaitGroup
	for _, r := range []*Registry{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); r.reap(ctx) }()
	}
	wg.Wait()
	if len(rec.ids) != 1 || rec.ids[0] != "dead" {
		t.Fatalf("reconciled %v, want [dead] once", rec.ids)
	}
	n, err := st.Node(ctx, "dead")
	if err != nil || (n.ClaimedBy != "a" && n.ClaimedBy != "b") {
		t.Fatalf("dead node %+v, %v", n, err)
	}
	// The "dead" node was only slow: its next beat registers it again.
	dead.beat(ctx)
	if n, err = st.Node(ctx, "dead"); err != nil || n.ClaimedBy != "" {
		t.Fatalf("the node back: %+v, %v", n, err)
	}
	if own, err := leaving.ClaimOwnCalls(ctx); err != nil || !own {
		t.Fatalf("a node that left settles its own journal at its next start: %v, %v", own, err)
	}
}
