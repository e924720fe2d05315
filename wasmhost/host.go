package wasmhost

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// Config configures a Host.
type Config struct {
	// CacheDir holds compiled machine code across restarts; "" keeps the
	// compilation cache in memory only.
	CacheDir string
	// Defaults apply where an application sets no limit (zero fields: the
	// package defaults); Max is the node-wide ceiling every application's
	// limits are clamped to (zero fields: DefaultMaxLimits).
	Defaults Limits
	Max      Limits
	// MaxModuleBytes caps an uploaded module (default 32 MiB).
	MaxModuleBytes int
	// KV backs kv_get/kv_set (default: a MemKV).
	KV KV
	// MaxConcurrentCompiles bounds the uploads compiled at once, so
	// parallel uploads cannot stack their compile memory (default 1).
	MaxConcurrentCompiles int
	Logger                *slog.Logger
}

// DefaultMaxModuleBytes caps uploads unless configured.
const DefaultMaxModuleBytes = 32 << 20

// Host owns the one wazero runtime, its compilation cache and the host
// modules (WASI and wasmvoice_v1) every instance links against.
type Host struct {
	cfg      Config
	log      *slog.Logger
	runtime  wazero.Runtime
	cache    wazero.CompilationCache
	wasiDefs map[string]api.FunctionDefinition
	compiles chan struct{} // a slot per compile allowed at once
}

// New starts a runtime. The compiler engine is used where wazero supports
// the platform (amd64, arm64), the interpreter elsewhere.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg.Max = cfg.Max.withDefaults(DefaultMaxLimits())
	cfg.Defaults = cfg.Defaults.withDefaults(DefaultLimits()).clamp(cfg.Max)
	if err := cfg.Max.Validate(); err != nil {
		return nil, fmt.Errorf("wasmhost: max limits: %w", err)
	}
	if err := cfg.Defaults.Validate(); err != nil {
		return nil, fmt.Errorf("wasmhost: default limits: %w", err)
	}
	if cfg.MaxModuleBytes <= 0 {
		cfg.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if cfg.KV == nil {
		cfg.KV = &MemKV{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConcurrentCompiles <= 0 {
		cfg.MaxConcurrentCompiles = 1
	}
	h := &Host{cfg: cfg, log: cfg.Logger.With("caller", "wasmhost"), compiles: make(chan struct{}, cfg.MaxConcurrentCompiles)}

	var err error
	if cfg.CacheDir != "" {
		h.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasmhost: compilation cache %s: %w", cfg.CacheDir, err)
		}
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	// Guests are stopped by the interrupt global Compile adds (see
	// interrupt.go), not by wazero's context checks, which cost a trip
	// out of native code at every guest loop iteration and call.
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(false).
		WithMemoryLimitPages(cfg.Max.MemoryPages).
		WithCompilationCache(h.cache).
		WithDebugInfoEnabled(false)
	h.runtime = wazero.NewRuntimeWithConfig(ctx, rc)

	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.runtime); err != nil {
		h.closeQuietly(ctx)
		return nil, fmt.Errorf("wasmhost: wasi: %w", err)
	}
	h.wasiDefs = h.runtime.Module(sdk.WASIModule).ExportedFunctionDefinitions()
	if err := instantiateHostModule(ctx, h.runtime); err != nil {
		h.closeQuietly(ctx)
		return nil, fmt.Errorf("wasmhost: host module: %w", err)
	}
	return h, nil
}

// Limits returns the effective limits for an application's overrides: zero
// fields take the node defaults, everything is clamped to the node maxima.
func (h *Host) Limits(override Limits) Limits {
	return override.withDefaults(h.cfg.Defaults).clamp(h.cfg.Max)
}

// Close closes every module and instance of the runtime. Pools must not be
// used afterwards.
func (h *Host) Close(ctx context.Context) error {
	err := h.runtime.Close(ctx)
	if cerr := h.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

func (h *Host) closeQuietly(ctx context.Context) {
	if err := h.Close(ctx); err != nil {
		h.log.Warn("close runtime", "error", err)
	}
}
