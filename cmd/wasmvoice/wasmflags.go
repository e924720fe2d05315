package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/wasmvoice/wasmvoice/server"
)

// wasmFlags registers the Wasm call-handler flags; the returned function
// parses them into cfg after f.Parse.
func wasmFlags(f flags, cfg *server.Config) func() error {
	var mem, maxMem, timeout, maxTimeout, maxBytes, warm, maxInst, compiles string
	f.str(&mem, "wasm-memory-mib", "16", "default guest memory cap in MiB for applications that set none")
	f.str(&maxMem, "wasm-max-memory-mib", strconv.Itoa(server.DefaultWasmMaxMemoryMiB), "node maximum guest memory in MiB; application limits are clamped to it")
	f.str(&timeout, "wasm-timeout", "50ms", "default time limit per Wasm event")
	f.str(&maxTimeout, "wasm-max-timeout", server.DefaultWasmMaxTimeout.String(), "node maximum time limit per Wasm event")
	f.str(&maxBytes, "wasm-max-module-bytes", strconv.Itoa(32<<20), "largest module accepted at upload, in bytes")
	f.str(&warm, "wasm-warm", strconv.Itoa(server.DefaultWasmWarm), "idle warm instances kept per application")
	f.str(&maxInst, "wasm-max-instances", strconv.Itoa(server.DefaultWasmMaxInstances), "live instances per application (concurrent events)")
	f.str(&compiles, "wasm-compile-concurrency", "1", "modules compiled at once (uploads and first use); more wait")
	return func() error {
		ints := []struct {
			name string
			in   string
			out  *int
		}{
			{"--wasm-memory-mib", mem, &cfg.WasmMemoryMiB},
			{"--wasm-max-memory-mib", maxMem, &cfg.WasmMaxMemoryMiB},
			{"--wasm-max-module-bytes", maxBytes, &cfg.WasmMaxModuleBytes},
			{"--wasm-warm", warm, &cfg.WasmWarm},
			{"--wasm-max-instances", maxInst, &cfg.WasmMaxInstances},
			{"--wasm-compile-concurrency", compiles, &cfg.WasmCompileConcurrency},
		}
		for _, i := range ints {
			n, err := strconv.Atoi(i.in)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s %q: want a positive integer", i.name, i.in)
			}
			*i.out = n
		}
		durs := []struct {
			name string
			in   string
			out  *time.Duration
		}{
			{"--wasm-timeout", timeout, &cfg.WasmTimeout},
			{"--wasm-max-timeout", maxTimeout, &cfg.WasmMaxTimeout},
		}
		for _, d := range durs {
			v, err := time.ParseDuration(d.in)
			if err != nil || v <= 0 {
				return fmt.Errorf("%s %q: want a positive duration such as 50ms", d.name, d.in)
			}
			*d.out = v
		}
		return nil
	}
}
