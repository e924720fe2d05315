package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Listener restarts: a serve loop that ends while the node runs (a socket
// error the kernel will not clear) is logged and started again after a
// back-off, and /readyz says not ready meanwhile. The node itself stops only
// when it is told to.
const (
	restartFirst = time.Second
	restartMax   = 30 * time.Second
)

// listenerGroup runs the node's serve loops.
type listenerGroup struct {
	log     *slog.Logger
	exits   chan listenerExit
	running int // serve loops started and not yet seen in exits
	backoff map[string]time.Duration
	first   time.Duration // the first back-off (restartFirst; tests shorten it)
}

type listenerExit struct {
	name  string
	serve func() error
	err   error
}

func newListenerGroup(log *slog.Logger) *listenerGroup {
	return &listenerGroup{log: log, exits: make(chan listenerExit, 8), backoff: map[string]time.Duration{}, first: restartFirst}
}

// start runs serve in its own goroutine; its end is reported on exits.
func (g *listenerGroup) start(name string, serve func() error) {
	g.running++
	go func() { g.exits <- listenerExit{name, serve, serve()} }()
}

// waitUp waits until up reports true; a serve loop ending first (a bind
// that failed) or the deadline passing is an error.
func (g *listenerGroup) waitUp(up func() bool, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !up() {
		select {
		case e := <-g.exits:
			g.running--
			return fmt.Errorf("%s: %w", e.name, orStopped(e.err))
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("SIP listeners did not come up")
		}
	}
	return nil
}

// supervise restarts serve loops that end until ctx ends.
func (g *listenerGroup) supervise(ctx context.Context) {
	type restart struct {
		at time.Time
		e  listenerExit
	}
	var pending []restart
	for {
		var due <-chan time.Time
		if len(pending) > 0 {
			due = time.After(time.Until(pending[0].at))
		}
		select {
		case <-ctx.Done():
			return
		case e := <-g.exits:
			g.running--
			d := min(max(2*g.backoff[e.name], g.first), restartMax)
			g.backoff[e.name] = d
			g.log.Error("listener stopped; starting it again", "listener", e.name, "error", orStopped(e.err), "in", d)
			pending = append(pending, restart{time.Now().Add(d), e})
		case <-due:
			e := pending[0].e
			pending = pending[1:]
			g.log.Info("listener starting again", "listener", e.name)
			g.start(e.name, e.serve)
		}
	}
}

// drain waits for every serve loop still running to return.
func (g *listenerGroup) drain() {
	for ; g.running > 0; g.running-- {
		<-g.exits
	}
}

func orStopped(err error) error {
	if err == nil {
		return errors.New("stopped")
	}
	return err
}
