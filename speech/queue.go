package speech

import (
	"context"
	"errors"
	"sync"
)

// Queue runs jobs (transcriptions) on a fixed number of workers, off the
// call path: Submit never blocks, and a full queue refuses the job at once.
type Queue struct {
	jobs   chan func(context.Context)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// Errors Submit returns.
var (
	ErrQueueFull   = errors.New("speech: transcription queue is full")
	ErrQueueClosed = errors.New("speech: transcription queue is closed")
)

// NewQueue starts workers (at least 1) taking jobs from a queue of size
// waiting jobs (at least 1). Close stops them.
func NewQueue(workers, size int) *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{jobs: make(chan func(context.Context), max(size, 1)), ctx: ctx, cancel: cancel}
	for range max(workers, 1) {
		q.wg.Add(1)
		go q.work()
	}
	return q
}

func (q *Queue) work() {
	defer q.wg.Done()
	for job := range q.jobs {
		job(q.ctx)
	}
}

// Submit queues job, which runs later with a context that ends at Close.
// It returns ErrQueueFull when size jobs are already waiting and
// ErrQueueClosed after Close; it never waits.
func (q *Queue) Submit(job func(ctx context.Context)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueClosed
	}
	select {
	case q.jobs <- job:
		return nil
	default:
		return ErrQueueFull
	}
}

// Close refuses new jobs, ends the context of the running ones, and waits
// (or until ctx ends) while the workers run every job still queued with that
// ended context: a job must then give up quickly, recording its outcome with
// a context of its own.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	q.cancel()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
