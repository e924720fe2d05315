package callflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// Defaults of Modules.
const (
	DefaultWarm         = 1  // idle warm instances per application
	DefaultMaxInstances = 16 // live instances per application
)

// ErrModuleFailed marks a module failure the call could not fall back from
// (no webhook URL for the event): the call ends with application-error.
var ErrModuleFailed = errors.New("wasm module failed")

// ModuleError is a module failure: the event kind, the module and why (a
// *wasmhost.EventError, a bad decision or invalid BXML).
type ModuleError struct {
	Event  string
	Module string
	Err    error
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("module %s failed on %s: %v", e.Module, e.Event, e.Err)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// Modules runs the node's Wasm modules: one wasmhost.Host, the modules it
// compiled (lazily, from their stored bytes, on first use) and one pool of
// warm instances per application.
type Modules struct {
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

// ModulesConfig sets up Modules.
type ModulesConfig struct {
	Host  *wasmhost.Host
	Store *store.Store
	// Warm and MaxInstances are the idle and live instances per application
	// (0: DefaultWarm, DefaultMaxInstances).
	Warm, MaxInstances int
	Logger             *slog.Logger
}

// appPool is an application's pool and what it was built for, so a changed
// binding or limit gets a new pool.
type appPool struct {
	moduleID string
	limits   wasmhost.Limits
	name     string
	pool     *wasmhost.Pool
}

// NewModules runs modules on cfg.Host; Close closes the host too.
func NewModules(cfg ModulesConfig) *Modules {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Modules{
		host: cfg.Host, store: cfg.Store, log: cfg.Logger.With("caller", "wasm"), warm: cfg.Warm, max: cfg.MaxInstances,
		mods: map[string]*wasmhost.Module{}, pools: map[string]appPool{},
	}
	if m.warm <= 0 {
		m.warm = DefaultWarm
	}
	if m.max <= 0 {
		m.max = DefaultMaxInstances
	}
	return m
}

// Host is the Wasm host (the API validates uploads with it).
func (m *Modules) Host() *wasmhost.Host { return m.host }

// pool returns the application's pool, compiling its module and starting
// the pool on first use. The first event of an application pays for both;
// later ones find warm instances.
func (m *Modules) pool(ctx context.Context, app store.Application) (*wasmhost.Pool, string, error) {
	limits := wasmhost.Limits{MemoryPages: uint32(app.ModuleMemoryPages), Timeout: time.Duration(app.ModuleTimeoutMS) * time.Millisecond}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, "", wasmhost.ErrPoolClosed
	}
	if p, ok := m.pools[app.ID]; ok {
		if p.moduleID == app.ModuleID && p.limits == limits {
			return p.pool, p.name, nil
		}
		// The binding changed: events in flight finish on the old pool,
		// which closes their instances when they end.
		delete(m.pools, app.ID)
		m.closePool(p)
	}
	info, err := m.store.Module(ctx, app.AccountID, app.ModuleID)
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", app.ModuleID, err)
	}
	mod, ok := m.mods[info.ID]
	if !ok {
		wasm, err := m.store.ModuleBytes(info)
		if err != nil {
			return nil, "", err
		}
		if mod, err = m.host.Compile(ctx, wasm); err != nil {
			return nil, "", fmt.Errorf("compile module %s: %w", info.ID, err)
		}
		m.mods[info.ID] = mod
		m.log.Info("module compiled", "moduleId", info.ID, "name", info.Name, "compileTime", mod.Meta().CompileTime)
	}
	name := info.Name + "@" + info.SHA256[:12]
	p, err := m.host.NewPool(ctx, mod, wasmhost.PoolConfig{
		Name: name, App: app.ID, Limits: limits, Warm: m.warm, MaxInstances: m.max, Logger: m.log,
	})
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", info.ID, err)
	}
	m.pools[app.ID] = appPool{moduleID: app.ModuleID, limits: limits, name: name, pool: p}
	return p, name, nil
}

func (m *Modules) closePool(p appPool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.pool.Close(ctx); err != nil {
		m.log.Warn("close pool", "module", p.name, "error", err)
	}
}

// Close closes every pool, module and the host.
func (m *Modules) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	pools, mods := m.pools, m.mods
	m.pools, m.mods = map[string]appPool{}, map[string]*wasmhost.Module{}
	m.mu.Unlock()
	for _, p := range pools {
		m.closePool(p)
	}
	for _, mod := range mods {
		if err := mod.Close(ctx); err != nil {
			m.log.Warn("close module", "error", err)
		}
	}
	return m.host.Close(ctx)
}
