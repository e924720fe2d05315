package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two stores on one database stand for two nodes sharing it: on
// PostgreSQL each has a data directory of its own (its own key file), as
// real nodes do; two SQLite stores share the file in one directory.
func openTwoNodes(t *testing.T, eng testEngine) (a, b *Store) {
	t.Helper()
	ctx := context.Background()
	d := eng.newDB(t)
	var err error
	if a, err = d.open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if eng.Engine == Postgres {
		d.dir = t.TempDir()
	}
	if b, err = d.open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	a.SetNodeID("node-a")
	b.SetNodeID("node-b")
	return a, b
}

func TestNodeRegistryAndClaim(t *testing.T) { forEachEngine(t, testNodeRegistryAndClaim) }

func testNodeRegistryAndClaim(t *testing.T, eng testEngine) {
	ctx := context.Background()
	a, b := openTwoNodes(t, eng)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, n := range []Node{
		{ID: "node-a", APIURL: "http://127.0.0.1:8080", SIPAddr: "127.0.0.1:5060", MediaIP: "127.0.0.1", Region: "US", Version: "v1", StartedAt: t0, HeartbeatAt: t0},
		{ID: "node-b", APIURL: "http://127.0.0.2:8080", SIPAddr: "127.0.0.2:5060", MediaIP: "127.0.0.2", Region: "US", Version: "v1", StartedAt: t0, HeartbeatAt: t0},
	} {
		if err := a.RegisterNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if by, err := b.BeatNode(ctx, "node-b", t0.Add(time.Minute)); err != nil || by != "" {
		t.Fatalf("beat: %q, %v", by, err)
	}
	if _, err := b.BeatNode(ctx, "node-z", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("beat of an unregistered node: %v", err)
	}
	nodes, err := b.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes[1].APIURL != "http://127.0.0.2:8080" || !nodes[1].HeartbeatAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("nodes %+v, %v", nodes, err)
	}
	// node-a stopped beating at t0: not dead yet at t0, dead after.
	if ok, err := b.ClaimNode(ctx, "node-a", "node-b", t0, t0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("claimed a live node: %v, %v", ok, err)
	}
	// Several nodes claim the dead one at once: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.ClaimNode(ctx, "node-a", st.NodeID(), t0.Add(time.Second), t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
	n, err := a.Node(ctx, "node-a")
	if err != nil || n.ClaimedBy == "" || n.ClaimedAt == nil {
		t.Fatalf("claimed node %+v, %v", n, err)
	}
	// A beat that comes back learns it was claimed; registering again
	// makes it live.
	if by, err := a.BeatNode(ctx, "node-a", t0.Add(2*time.Minute)); err != nil || by != n.ClaimedBy {
		t.Fatalf("beat after the claim: %q, %v", by, err)
	}
	n.StartedAt, n.HeartbeatAt = t0.Add(3*time.Minute), t0.Add(3*time.Minute)
	if err := a.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if n, err = a.Node(ctx, "node-a"); err != nil || n.ClaimedBy != "" || n.ClaimedAt != nil {
		t.Fatalf("registered again: %+v, %v", n, err)
	}
	if alive, err := a.LastAlive(ctx); err != nil || !alive.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("LastAlive = %v, %v: want the node's own beat", alive, err)
	}
}

// The journal names each call's node: a node's restart finds only its own
// calls, another node finds a dead node's, and any node finds a call's owner.
func TestJournalNamesTheNode(t *testing.T) { forEachEngine(t, testJournalNamesTheNode) }

func testJournalNamesTheNode(t *testing.T, eng testEngine) {
	ctx := context.Background()
	a, b := openTwoNodes(t, eng)
	now := time.Now().UTC()
	if err := a.JournalCall(LiveCall{Record: CallRecord{ID: "c-a", AccountID: "acct", StartTime: now},
		Disconnect: &DisconnectTarget{URL: "http://x", Method: "POST", Username: "u", Password: "pw"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.JournalCall(LiveCall{Record: CallRecord{ID: "c-b", AccountID: "acct", StartTime: now}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, errA := a.CallOwner(ctx, "c-a")
		_, errB := a.CallOwner(ctx, "c-b")
		if errA == nil && errB == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal: %v, %v", errA, errB)
		}
	}
	if owner, err := b.CallOwner(ctx, "c-a"); err != nil || owner != "node-a" {
		t.Fatalf("owner of c-a: %q, %v", owner, err)
	}
	if _, err := b.CallOwner(ctx, "c-none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("owner of an unknown call: %v", err)
	}
	own, err := b.LiveCalls(ctx)
	if err != nil || len(own) != 1 || own[0].Record.ID != "c-b" {
		t.Fatalf("node-b's own live calls: %+v, %v", own, err)
	}
	// node-b reconciles node-a: it opens node-a's sealed password (on
	// PostgreSQL though its own key file differs: the key is in the
	// database; TestSharedSealingKey covers the adoption).
	dead, err := b.NodeLiveCalls(ctx, "node-a")
	if err != nil || len(dead) != 1 || dead[0].Record.ID != "c-a" || dead[0].Disconnect.Password != "pw" {
		t.Fatalf("node-a's live calls seen from node-b: %+v, %v", dead, err)
	}
	if eng.Engine == Postgres {
		ka, _ := os.ReadFile(filepath.Join(a.dataDir, "secret.key"))
		kb, _ := os.ReadFile(filepath.Join(b.dataDir, "secret.key"))
		if len(ka) != 32 || string(ka) == string(kb) {
			t.Fatal("the nodes' key files are the same: the test proves nothing")
		}
	}
}

// Nodes sharing a database share the sealing key through it: what one
// sealed, another opens, though each has a key file of its own.
func TestSharedSealingKey(t *testing.T) {
	ctx := context.Background()
	a, b := openTwoNodes(t, testEngine{SQLite})
	if err := a.shareSealer(ctx, filepath.Join(a.dataDir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	sealed, err := a.sealer.seal("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "secret.key") // node-b's own file: a different key
	if err := b.shareSealer(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, err := b.sealer.open(sealed); err != nil || got != "hunter2" {
		t.Fatalf("node-b opens node-a's seal: %q, %v", got, err)
	}
	alone, err := loadSealer(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.open(sealed); err == nil {
		t.Fatal("node-b's own file key opened node-a's seal: the keys were the same")
	}
}
