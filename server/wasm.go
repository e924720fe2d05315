package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

var moduleFailures = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_server_module_failures_total",
	Help: "Wasm module failures by event kind and what the engine did (fallback, error, ignored).",
}, []string{"kind", "handling"})

// Wasm settings defaults (Config.Wasm*).
const (
	DefaultWasmMaxMemoryMiB = 64
	DefaultWasmMaxTimeout   = time.Second
	DefaultWasmWarm         = 1
	DefaultWasmMaxInstances = 16
)

// ErrModuleFailed marks a module failure the engine could not fall back
// from: the call ends with application-error.
var ErrModuleFailed = errors.New("wasm module failed")

// wasmEngine is the node's Wasm side: one wasmhost.Host, the modules it
// compiled (lazily, from their stored bytes, on first use) and one pool of
// warm instances per application.
type wasmEngine struct {
	host  *wasmhost.Host
	store *store.Store
	log   *slog.Logger
	warm  int
	max   int

	mu     sync.Mutex
	mods   map[string]*wasmhost.Module // by module id; a module's bytes never change
	pools  map[string]appPool          // by application id
	closed bool
}

// appPool is an application's pool and what it was built for, so a changed
// binding or limit gets a new pool.
type appPool struct {
	moduleID string
	limits   wasmhost.Limits
	name     string
	pool     *wasmhost.Pool
}

// wasmConfig turns the node settings into the host's configuration.
func (c Config) wasmConfig(st *store.Store, log *slog.Logger) wasmhost.Config {
	maxMem := c.WasmMaxMemoryMiB
	if maxMem <= 0 {
		maxMem = DefaultWasmMaxMemoryMiB
	}
	maxTimeout := c.WasmMaxTimeout
	if maxTimeout <= 0 {
		maxTimeout = DefaultWasmMaxTimeout
	}
	cache := c.WasmCacheDir
	if cache == "" {
		cache = filepath.Join(c.DataDir, "wasm-cache")
	}
	return wasmhost.Config{
		CacheDir:       cache,
		Defaults:       wasmhost.Limits{MemoryPages: uint32(c.WasmMemoryMiB) * 16, Timeout: c.WasmTimeout},
		Max:            wasmhost.Limits{MemoryPages: uint32(maxMem) * 16, Timeout: maxTimeout},
		MaxModuleBytes: c.WasmMaxModuleBytes,
		KV:             store.AppKV{Store: st},
		Logger:         log,
	}
}

func newWasmEngine(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (*wasmEngine, error) {
	h, err := wasmhost.New(ctx, cfg.wasmConfig(st, log))
	if err != nil {
		return nil, fmt.Errorf("wasm host: %w", err)
	}
	w := &wasmEngine{
		host: h, store: st, log: log.With("caller", "wasm"), warm: cfg.WasmWarm, max: cfg.WasmMaxInstances,
		mods: map[string]*wasmhost.Module{}, pools: map[string]appPool{},
	}
	if w.warm <= 0 {
		w.warm = DefaultWasmWarm
	}
	if w.max <= 0 {
		w.max = DefaultWasmMaxInstances
	}
	return w, nil
}

// pool returns the application's pool, compiling its module and starting
// the pool on first use. The first event of an application pays for both;
// later ones find warm instances.
func (w *wasmEngine) pool(ctx context.Context, app store.Application) (*wasmhost.Pool, string, error) {
	limits := wasmhost.Limits{MemoryPages: uint32(app.ModuleMemoryPages), Timeout: time.Duration(app.ModuleTimeoutMS) * time.Millisecond}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, "", wasmhost.ErrPoolClosed
	}
	if p, ok := w.pools[app.ID]; ok {
		if p.moduleID == app.ModuleID && p.limits == limits {
			return p.pool, p.name, nil
		}
		// The binding changed: events in flight finish on the old pool,
		// which closes their instances when they end.
		delete(w.pools, app.ID)
		w.closePool(p)
	}
	info, err := w.store.Module(ctx, app.AccountID, app.ModuleID)
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", app.ModuleID, err)
	}
	mod, ok := w.mods[info.ID]
	if !ok {
		wasm, err := w.store.ModuleBytes(info)
		if err != nil {
			return nil, "", err
		}
		if mod, err = w.host.Compile(ctx, wasm); err != nil {
			return nil, "", fmt.Errorf("compile module %s: %w", info.ID, err)
		}
		w.mods[info.ID] = mod
		w.log.Info("module compiled", "module_id", info.ID, "name", info.Name, "compile_time", mod.Meta().CompileTime)
	}
	name := info.Name + "@" + info.SHA256[:12]
	p, err := w.host.NewPool(ctx, mod, wasmhost.PoolConfig{
		Name: name, App: app.ID, Limits: limits, Warm: w.warm, MaxInstances: w.max, Logger: w.log,
	})
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", info.ID, err)
	}
	w.pools[app.ID] = appPool{moduleID: app.ModuleID, limits: limits, name: name, pool: p}
	return p, name, nil
}

func (w *wasmEngine) closePool(p appPool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.pool.Close(ctx); err != nil {
		w.log.Warn("close pool", "module", p.name, "err", err)
	}
}

// Close closes every pool, module and the host.
func (w *wasmEngine) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	pools, mods := w.pools, w.mods
	w.pools, w.mods = map[string]appPool{}, map[string]*wasmhost.Module{}
	w.mu.Unlock()
	for _, p := range pools {
		w.closePool(p)
	}
	for _, m := range mods {
		if err := m.Close(ctx); err != nil {
			w.log.Warn("close module", "err", err)
		}
	}
	return w.host.Close(ctx)
}

// closeWasm runs after the engine's calls are gone (deferred in Run).
func (s *Server) closeWasm() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.wasm.Close(ctx); err != nil {
		s.log.Warn("close wasm host", "err", err)
	}
}
