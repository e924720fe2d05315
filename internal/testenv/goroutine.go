package testenv

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// stopWait bounds how long a test's cleanup waits for one of its goroutines
// before it reports it.
const stopWait = 30 * time.Second

// Go runs f on a goroutine the test owns, so f can never touch t, a socket
// or a temporary directory after the test has finished:
//
//   - f's context ends when the test body returns (it derives from
//     t.Context()), and the test's cleanup waits for f to return before any
//     cleanup registered earlier (closing sockets, removing directories)
//     runs;
//   - f must not call t.Fatal, t.FailNow or t.Skip, which only the test's own
//     goroutine may call: it returns its error instead, which the returned
//     channel delivers once (t.Error is fine until the test has finished).
//
// f must return once its context is done.
func Go(t testing.TB, f func(ctx context.Context) error) <-chan error {
	t.Helper()
	_, file, line, _ := runtime.Caller(1)
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		result <- f(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(stopWait):
			// Keep waiting: it still must not outlive the test.
			t.Errorf("the goroutine started at %s:%d did not stop within %v of the test's end", file, line, stopWait)
			<-stopped
		}
	})
	return result
}
