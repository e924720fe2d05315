package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// 10,000 events, two at a time, with failures mixed in: afterwards no
// instance and no goroutine is left behind.
func TestNoInstanceLeaks(t *testing.T) {
	// A generous deadline: this test is about leaks, not speed, and must
	// not fail on a loaded machine.
	h := newTestHost(t, Config{Max: Limits{Timeout: 10 * time.Second}})
	m, err := h.Compile(context.Background(), guest(t, "basic"))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	baseGoroutines := runtime.NumGoroutine()
	baseLive := liveInstances.Load()

	p, err := h.NewPool(context.Background(), m, PoolConfig{Name: "leak", Warm: 2, MaxInstances: 4, Limits: Limits{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	const events, workers = 10000, 2
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	deadline := time.Now().Add(2 * time.Minute)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += workers {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("gave up at event %d", i)
					return
				}
				ev := callEvent(sdk.EventInitiate, map[string]any{"callId": fmt.Sprint(i)})
				if i%1000 == 999 {
					ev.Type = "panic"
				}
				_, err := p.Handle(context.Background(), ev)
				if ev.Type == "panic" {
					if !errors.Is(err, ErrTrap) {
						errs <- fmt.Errorf("event %d: %v, want ErrTrap", i, err)
						return
					}
				} else if err != nil {
					errs <- fmt.Errorf("event %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Once the refiller settles, every live instance is idle.
	waitFor(t, func() bool { s := p.Stats(); return s.Live == s.Idle }, func() string {
		return fmt.Sprintf("after the run: %+v", p.Stats())
	})
	if s := p.Stats(); s.Live > 4 {
		t.Fatalf("more instances than MaxInstances: %+v", s)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if live := liveInstances.Load(); live != baseLive {
		t.Fatalf("instances live after close: %v, before: %v", live, baseLive)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= baseGoroutines }, func() string {
		return fmt.Sprintf("goroutines: %d, before: %d", runtime.NumGoroutine(), baseGoroutines)
	})
}

func waitFor(t *testing.T, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
