package server

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// A serve loop that ends while the node runs is started again, with a
// growing back-off; the node does not stop.
func TestListenerRestarted(t *testing.T) {
	g := newListenerGroup(slog.New(slog.DiscardHandler))
	g.first = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int32
	stop := make(chan struct{})
	g.start("flaky", func() error {
		if runs.Add(1) <= 3 {
			return errors.New("socket broke")
		}
		<-stop
		return nil
	})
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		g.supervise(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("started %d times, want 4", runs.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if g.backoff["flaky"] != 40*time.Millisecond {
		t.Errorf("back-off after three failures: %v, want 40ms", g.backoff["flaky"])
	}
	cancel()
	<-supervised
	close(stop)
	g.drain()
}
