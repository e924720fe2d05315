package main

import (
	"github.com/wasmvoice/wasmvoice/server"
)

// wasmFlags registers the Wasm call-handler flags.
func wasmFlags(f flags, cfg *server.Config) {
	f.integer(&cfg.WasmMemoryMiB, "wasm-memory-mib", 16, 1, "default guest memory cap in MiB for applications that set none")
	f.integer(&cfg.WasmMaxMemoryMiB, "wasm-max-memory-mib", server.DefaultWasmMaxMemoryMiB, 1, "node maximum guest memory in MiB; application limits are clamped to it")
	f.duration(&cfg.WasmTimeout, "wasm-timeout", server.DefaultWasmTimeout, "default time limit per Wasm event")
	f.duration(&cfg.WasmMaxTimeout, "wasm-max-timeout", server.DefaultWasmMaxTimeout, "node maximum time limit per Wasm event")
	f.integer(&cfg.WasmMaxModuleBytes, "wasm-max-module-bytes", 32<<20, 1, "largest module accepted at upload, in bytes")
	f.integer(&cfg.WasmWarm, "wasm-warm", server.DefaultWasmWarm, 1, "idle warm instances kept per application")
	f.integer(&cfg.WasmMaxInstances, "wasm-max-instances", server.DefaultWasmMaxInstances, 1, "live instances per application (concurrent events)")
	f.integer(&cfg.WasmCompileConcurrency, "wasm-compile-concurrency", 1, 1, "modules compiled at once (uploads and first use); more wait")
}
