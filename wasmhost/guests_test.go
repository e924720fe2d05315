package wasmhost

import (
	"context"
	"log/slog"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// guest returns the wasm bytes of the test guest testdata/<name>, a real Go
// module, built once per test binary run.
func guest(tb testing.TB, name string) []byte {
	tb.Helper()
	return testenv.BuildGuest(tb, "testdata/"+name)
}

// newTestHost starts a Host that is closed with the test.
func newTestHost(tb testing.TB, cfg Config) *Host {
	tb.Helper()
	if cfg.CacheDir == "" {
		// One disk cache for the test binary: the Go guest compiles once
		// (seconds), later hosts load it (milliseconds).
		cfg.CacheDir = testenv.WasmCompilationCache(tb)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			tb.Errorf("close host: %v", err)
		}
	})
	return h
}

// newTestPool compiles a guest and starts a pool that is closed with the test.
func newTestPool(tb testing.TB, h *Host, name string, cfg PoolConfig) *Pool {
	tb.Helper()
	ctx := context.Background()
	m, err := h.Compile(ctx, guest(tb, name))
	if err != nil {
		tb.Fatalf("compile %s: %v", name, err)
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	p, err := h.NewPool(ctx, m, cfg)
	if err != nil {
		tb.Fatalf("pool %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			tb.Errorf("close pool: %v", err)
		}
	})
	return p
}
