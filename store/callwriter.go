package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ErrClosed is returned by SaveCall once the store is closed.
var ErrClosed = errors.New("store closed")

// maxCallGroup bounds how many call records share one transaction: enough
// to take a burst of ended calls at once, small enough that one group's
// transaction stays short and a failed group is cheap to retry.
const maxCallGroup = 64

var (
	callSaveCommits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_store_call_save_commits_total",
		Help: "Transactions committed (or tried) to save ended calls; several calls can share one.",
	})
	callSaveGroup = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "wasmvoice_store_call_save_group_size",
		Help:    "Call records written in one transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	callSaveRetries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_store_call_save_group_retries_total",
		Help: "Groups of call records that failed together and were retried one by one.",
	})
)

// pendingCall is one SaveCall waiting for the writer. Everything the
// writer needs is built by the caller, so the single writer goroutine only
// runs statements.
type pendingCall struct {
	ctx   context.Context // the caller's: a record whose caller gave up before its group starts is not written
	id    string
	stmts []callStmt
	done  chan error // buffered: the writer never waits for a caller that gave up
}

// callWriter is the Store's one goroutine that saves ended calls. A commit
// was most of a call's save (WAL append and the write lock), so every
// record waiting when the writer is free goes into one transaction: under
// load N calls pay one commit, and a lone call is written at once, with no
// timer to collect more.
type callWriter struct {
	s     *Store
	queue chan *pendingCall

	// mu orders SaveCall's enqueue against close: once closed is set under
	// the write lock no sender is mid-send, so the writer's last drain sees
	// every record that got in.
	mu     sync.RWMutex
	closed bool
	quit   chan struct{}
	exited chan struct{}
	once   sync.Once

	commits atomic.Int64 // transactions tried, for tests

	// beforeGroup, when set (tests only), runs in the writer after it takes
	// a group's first record and before it collects the rest.
	beforeGroup func()
}

func newCallWriter(s *Store) *callWriter {
	w := &callWriter{
		s:      s,
		queue:  make(chan *pendingCall, maxCallGroup),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go w.run()
	return w
}

// enqueue hands p to the writer, or fails when the store is closed or ctx
// ends first.
func (w *callWriter) enqueue(ctx context.Context, p *pendingCall) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueueNoWait hands p to the writer without waiting for its commit (the
// journal's rows); it waits only for room in the queue.
func (w *callWriter) enqueueNoWait(p *pendingCall) error {
	return w.enqueue(context.Background(), p)
}

// close stops taking records, writes those already queued, and returns
// once the writer goroutine is gone.
func (w *callWriter) close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
	})
	<-w.exited
}

func (w *callWriter) run() {
	defer close(w.exited)
	group := make([]*pendingCall, 0, maxCallGroup)
	for {
		select {
		case p := <-w.queue:
			if w.beforeGroup != nil {
				w.beforeGroup()
			}
			g := w.collect(append(group[:0], p))
			w.write(g)
			clear(g) // drop the written records' rows until the next group
		case <-w.quit:
			// No sender is left (close held the lock after setting
			// closed): what is in the queue now is all there will be.
			for {
				g := w.collect(group[:0])
				if len(g) == 0 {
					return
				}
				w.write(g)
			}
		}
	}
}

// collect appends the records queued right now, up to maxCallGroup. It
// never waits for more: a lone record is written at once.
func (w *callWriter) collect(group []*pendingCall) []*pendingCall {
	for len(group) < maxCallGroup {
		select {
		case p := <-w.queue:
			group = append(group, p)
		default:
			return group
		}
	}
	return group
}

// write saves a group in one transaction and answers every caller. When
// the group fails, each record is tried again alone, so one bad record
// (say, its account was deleted during the call) fails only its own caller.
func (w *callWriter) write(group []*pendingCall) {
	live := group[:0]
	for _, p := range group {
		if err := p.ctx.Err(); err != nil {
			p.done <- err
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	callSaveGroup.Observe(float64(len(live)))
	err := w.tx(live)
	if err == nil || len(live) == 1 {
		for _, p := range live {
			p.done <- err
		}
		return
	}
	callSaveRetries.Inc()
	for _, p := range live {
		if err := p.ctx.Err(); err != nil {
			p.done <- err // gone already: no need to learn which record broke the group
			continue
		}
		p.done <- w.tx([]*pendingCall{p})
	}
}

// tx writes records in one transaction. It runs on the writer's own
// context, not a caller's: one caller giving up must not undo the others.
func (w *callWriter) tx(records []*pendingCall) error {
	ctx := context.Background()
	return retryBusyErr(ctx, w.s, func() error { return w.txOnce(ctx, records) })
}

func (w *callWriter) txOnce(ctx context.Context, records []*pendingCall) error {
	w.commits.Add(1)
	callSaveCommits.Inc()
	tx, err := w.s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save call %s: %w", records[0].id, err)
	}
	defer tx.Rollback()
	for _, p := range records {
		for _, st := range p.stmts {
			if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
				return fmt.Errorf("save call %s%s: %w", p.id, st.what, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		if len(records) == 1 {
			return fmt.Errorf("save call %s: %w", records[0].id, err)
		}
		return fmt.Errorf("save %d calls: %w", len(records), err)
	}
	return nil
}
