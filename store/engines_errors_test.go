package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// Both engines answer a broken rule with the same error.
func TestEngineErrors(t *testing.T) { forEachEngine(t, testEngineErrors) }

func testEngineErrors(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	if _, err := s.CreateAccount(ctx, acct.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("account created twice: %v, want ErrConflict", err)
	}
	if _, err := s.Account(ctx, "no-such-account"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing account: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateClient(ctx, "no-such-account"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("client of a missing account: %v, want ErrNotFound", err)
	}
	if err := s.SetAccountFeatures(ctx, "no-such-account", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("features of a missing account: %v, want ErrNotFound", err)
	}
	if _, err := (AppKV{Store: s}).Put(ctx, "no-such-app", "k", []byte("v")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("kv of a missing application: %v, want ErrNotFound", err)
	}
}

// Writers racing for the last keys of a full store: exactly MaxKeys win on
// both engines (SQLite serializes them; PostgreSQL's serialization failures
// are retried), and every loser sees ErrKVFull, never a busy error.
func TestAppKVLimitUnderConcurrentWriters(t *testing.T) {
	forEachEngine(t, testAppKVLimitUnderConcurrentWriters)
}

func testAppKVLimitUnderConcurrentWriters(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, app := kvApp(t, eng)
	const max, writers = 4, 12
	kv := AppKV{Store: s, MaxKeys: max}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { _, errs[i] = kv.Put(ctx, app.ID, fmt.Sprintf("k%d", i), []byte("v")) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrKVFull):
			t.Fatalf("writer %d: %v, want nil or ErrKVFull", i, err)
		}
	}
	page, err := kv.Entries(ctx, app.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if won != max || len(page.Entries) != max {
		t.Fatalf("%d writers won, %d keys stored; want %d", won, len(page.Entries), max)
	}
}

// A SIP header with a NUL byte or invalid UTF-8 does not cost the call its
// record on PostgreSQL (which refuses such text): the bytes are stored as
// U+FFFD there (SQLite keeps them as they came).
func TestUnstorableTextOnEveryEngine(t *testing.T) { forEachEngine(t, testUnstorableTextOnEveryEngine) }

func testUnstorableTextOnEveryEngine(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	from := "sip:a\xff\x00b@h"
	c := CallRecord{ID: "c-odd", AccountID: acct.ID, ApplicationID: "app", Direction: "inbound", From: from, To: "b", State: "disconnected", StartTime: at, EndTime: at}
	trace := []SIPMessage{{At: at, Direction: "in", Transport: "udp", LocalAddr: "l", RemoteAddr: "r", Message: "INVITE sip:b SIP/2.0\r\nX: \x00\xfe\r\n\r\n"}}
	if err := s.SaveCall(ctx, c, trace, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, acct.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := from
	if eng.Engine == Postgres {
		want = "sip:a\uFFFD\uFFFDb@h"
	}
	if got.From != want {
		t.Fatalf("from %q, want %q", got.From, want)
	}
	if tr, err := s.CallTrace(ctx, c.ID); err != nil || len(tr) != 1 {
		t.Fatalf("trace: %v %v", tr, err)
	}
}

// Nodes that start together against one PostgreSQL database migrate it
// once: the advisory lock makes the others wait, then find nothing to do.
func TestPostgresConcurrentStartsMigrateOnce(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = OpenDatabase(ctx, t.TempDir(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var n int
	if err := stores[0].db.GetContext(ctx, &n, "SELECT COUNT(*) FROM schema_migrations"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := loadMigrations(); n != len(ms) {
		t.Fatalf("%d migrations recorded, %d files", n, len(ms))
	}
}
