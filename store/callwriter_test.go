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

func openCallStore(t *testing.T, eng testEngine) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, acct.ID
}

// holdWriter makes the writer stop after taking a group's first record
// until release is called, so a test can line records up behind it.
// taken receives once per group.
func holdWriter(s *Store) (taken <-chan struct{}, release func()) {
	tk := make(chan struct{}, maxCallGroup)
	gate := make(chan struct{})
	var once sync.Once
	s.calls.beforeGroup = func() {
		tk <- struct{}{}
		<-gate
	}
	return tk, func() { once.Do(func() { close(gate) }) }
}

// waitQueued waits until n records wait in the writer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.calls.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records queued", len(s.calls.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSaveCallConcurrent(t *testing.T) { forEachEngine(t, testSaveCallConcurrent) }

func testSaveCallConcurrent(t *testing.T, eng testEngine) {
	s, acct := openCallStore(t, eng)
	ctx := context.Background()
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c, trace, log := benchCall(w*each+i, acct)
				// Traces and logs of different lengths, so rows of one call
				// cannot pass for another's.
				trace = trace[:1+(w+i)%len(trace)]
				log = log[:1+i%len(log)]
				log[0].Message = c.ID
				if err := s.SaveCall(ctx, c, trace, log); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("c-%d", w*each+i)
			c, err := s.Call(ctx, acct, id)
			if err != nil || c.State != "disconnected" || c.DisconnectCause != "hangup" {
				t.Fatalf("call %s: %+v %v", id, c, err)
			}
			tr, err := s.CallTrace(ctx, id)
			if err != nil || len(tr) != 1+(w+i)%9 || tr[0].Transport != "udp" {
				t.Fatalf("call %s trace: %d rows, %v", id, len(tr), err)
			}
			lg, err := s.CallLog(ctx, id)
			if err != nil || len(lg) != 1+i%5 || lg[0].Message != id {
				t.Fatalf("call %s log: %v %v", id, lg, err)
			}
		}
	}
	if n := s.calls.commits.Load(); n > workers*each {
		t.Fatalf("%d transactions for %d saves", n, workers*each)
	}
	t.Logf("%d saves in %d transactions", workers*each, s.calls.commits.Load())
}

// Records that queue while the writer is busy share one transaction, up
// to maxCallGroup records.
func TestSaveCallGroupsWaitingRecords(t *testing.T) {
	forEachEngine(t, testSaveCallGroupsWaitingRecords)
}

func testSaveCallGroupsWaitingRecords(t *testing.T, eng testEngine) {
	for _, tc := range []struct {
		name    string
		n       int
		commits int64
	}{
		{"one group", 40, 1},
		{"past the bound", maxCallGroup + 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, acct := openCallStore(t, eng)
			ctx := context.Background()
			taken, release := holdWriter(s)
			defer release()
			errs := make(chan error, tc.n)
			save := func(i int) {
				c, trace, log := benchCall(i, acct)
				errs <- s.SaveCall(ctx, c, trace, log)
			}
			testenv.Go(t, func(context.Context) error { save(0); return nil })
			<-taken // the writer holds record 0 before collecting; the rest queue
			for i := 1; i < tc.n; i++ {
				testenv.Go(t, func(context.Context) error { save(i); return nil })
			}
			waitQueued(t, s, min(tc.n-1, cap(s.calls.queue)))
			release()
			for range tc.n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if got := s.calls.commits.Load(); got != tc.commits {
				t.Fatalf("%d transactions for %d saves, want %d", got, tc.n, tc.commits)
			}
			p, err := s.Calls(ctx, acct, CallFilter{})
			if err != nil || len(p.Calls) != tc.n {
				t.Fatalf("%d calls saved, %v", len(p.Calls), err)
			}
		})
	}
}

// A record that cannot be written fails its own caller only, even when it
// shared a transaction with others.
func TestSaveCallBadRecordInGroup(t *testing.T) { forEachEngine(t, testSaveCallBadRecordInGroup) }

func testSaveCallBadRecordInGroup(t *testing.T, eng testEngine) {
	s, acct := openCallStore(t, eng)
	ctx := context.Background()
	taken, release := holdWriter(s)
	defer release()
	const n = 10
	const bad = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	save := func(i int) {
		c, trace, log := benchCall(i, acct)
		if i == bad {
			c.AccountID = "no-such-account" // breaks the calls.account_id foreign key
		}
		errs[i] = s.SaveCall(ctx, c, trace, log)
	}
	wg.Go(func() { save(0) })
	<-taken
	for i := 1; i < n; i++ {
		wg.Go(func() { save(i) })
	}
	waitQueued(t, s, n-1)
	release()
	wg.Wait()
	for i, err := range errs {
		if i == bad {
			if !isForeignKeyViolation(err) {
				t.Fatalf("bad record: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if _, err := s.Call(ctx, acct, fmt.Sprintf("c-%d", i)); err != nil {
			t.Fatalf("record %d not saved: %v", i, err)
		}
	}
	t.Logf("bad record: %v", errs[bad])
	if tr, _ := s.CallTrace(ctx, fmt.Sprintf("c-%d", bad)); len(tr) != 0 {
		t.Fatalf("bad record left %d trace rows", len(tr))
	}
	// The group of 10 fails, then each record is tried alone.
	if got := s.calls.commits.Load(); got != 1+n {
		t.Fatalf("%d transactions", got)
	}
}

// A caller that gives up while its record waits gets ctx.Err() at once.
func TestSaveCallContextWhileWaiting(t *testing.T) { forEachEngine(t, testSaveCallContextWhileWaiting) }

func testSaveCallContextWhileWaiting(t *testing.T, eng testEngine) {
	s, acct := openCallStore(t, eng)
	taken, release := holdWriter(s)
	defer release()
	first := testenv.Go(t, func(context.Context) error {
		c, trace, log := benchCall(0, acct)
		return s.SaveCall(context.Background(), c, trace, log)
	})
	<-taken

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := testenv.Go(t, func(context.Context) error {
		c, trace, log := benchCall(1, acct)
		return s.SaveCall(ctx, c, trace, log)
	})
	waitQueued(t, s, 1)
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled save: %v", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Its group had not started when it gave up, so it is not written.
	if _, err := s.Call(context.Background(), acct, "c-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancelled record: %v", err)
	}
	// A context already done fails before anything is queued.
	c, trace, log := benchCall(2, acct)
	if err := s.SaveCall(ctx, c, trace, log); !errors.Is(err, context.Canceled) {
		t.Fatalf("done context: %v", err)
	}
}

func TestSaveCallAfterClose(t *testing.T) { forEachEngine(t, testSaveCallAfterClose) }

func testSaveCallAfterClose(t *testing.T, eng testEngine) {
	s, acct := openCallStore(t, eng)
	ctx := context.Background()
	c, trace, log := benchCall(0, acct)
	if err := s.SaveCall(ctx, c, trace, log); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c, trace, log = benchCall(1, acct)
	if err := s.SaveCall(ctx, c, trace, log); !errors.Is(err, ErrClosed) {
		t.Fatalf("save after close: %v", err)
	}
	if err := s.Close(); err != nil { // twice is harmless
		t.Fatal(err)
	}
}

// Close writes what is queued before it closes the database.
func TestCloseWritesQueuedCalls(t *testing.T) { forEachEngine(t, testCloseWritesQueuedCalls) }

func testCloseWritesQueuedCalls(t *testing.T, eng testEngine) {
	db := eng.newDB(t)
	ctx := context.Background()
	s, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	taken, release := holdWriter(s)
	const n = 8
	errs := make(chan error, n)
	save := func(i int) {
		c, trace, log := benchCall(i, acct.ID)
		errs <- s.SaveCall(ctx, c, trace, log)
	}
	testenv.Go(t, func(context.Context) error { save(0); return nil })
	<-taken
	for i := 1; i < n; i++ {
		testenv.Go(t, func(context.Context) error { save(i); return nil })
	}
	waitQueued(t, s, n-1)
	closed := testenv.Go(t, func(context.Context) error { return s.Close() })
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err = db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Calls(ctx, acct.ID, CallFilter{})
	if err != nil || len(p.Calls) != n {
		t.Fatalf("%d calls after close, %v", len(p.Calls), err)
	}
}
