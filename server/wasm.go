package server

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// Wasm settings defaults (Config.Wasm*).
const (
	DefaultWasmMaxMemoryMiB = 64
	DefaultWasmMaxTimeout   = time.Second
	DefaultWasmTimeout      = 50 * time.Millisecond
	DefaultWasmWarm         = callflow.DefaultWarm
	DefaultWasmMaxInstances = callflow.DefaultMaxInstances
)

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
		CacheDir:              cache,
		Defaults:              wasmhost.Limits{MemoryPages: uint32(c.WasmMemoryMiB) * 16, Timeout: c.WasmTimeout},
		Max:                   wasmhost.Limits{MemoryPages: uint32(maxMem) * 16, Timeout: maxTimeout},
		MaxModuleBytes:        c.WasmMaxModuleBytes,
		MaxConcurrentCompiles: c.WasmCompileConcurrency,
		KV:                    store.AppKV{Store: st},
		Logger:                log,
	}
}
