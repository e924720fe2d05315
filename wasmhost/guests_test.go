package wasmhost

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Test guests are real Go modules under testdata/<name>, built once per
// test binary run (the go build cache keeps rebuilds to a link step).

var (
	guestDir  string
	guestMu   sync.Mutex
	guestWasm = map[string][]byte{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmhost-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guest returns the wasm bytes of testdata/<name>, building it on first use.
func guest(tb testing.TB, name string) []byte {
	tb.Helper()
	guestMu.Lock()
	defer guestMu.Unlock()
	if b, ok := guestWasm[name]; ok {
		return b
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("go tool needed to build test guests: %v", err)
	}
	out := filepath.Join(guestDir, name+".wasm")
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build guest %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	guestWasm[name] = b
	return b
}

// newTestHost starts a Host that is closed with the test.
func newTestHost(tb testing.TB, cfg Config) *Host {
	tb.Helper()
	if cfg.CacheDir == "" {
		// One disk cache for the test binary: the Go guest compiles once
		// (seconds), later hosts load it (milliseconds).
		cfg.CacheDir = testCacheDir()
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

// testCacheDir is a compilation cache kept across test runs (wazero keys
// entries by module hash and wazero version), so the package test does not
// pay the Go guest's multi-second compile every run.
func testCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "wasmvoice", "wasmhost-test-compilation-cache")
	}
	return filepath.Join(guestDir, "cache")
}
