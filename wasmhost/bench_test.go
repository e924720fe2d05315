package wasmhost

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/sdk"
)

var benchEvent = []byte(`{"v":1,"event":"initiate","eventType":"initiate","eventTime":"2026-11-23T09:00:00.000Z",` +
	`"accountId":"9900000","applicationId":"04e88489-df02-4e34-a0ee-27a91849555f","from":"+15551230001",` +
	`"to":"+15551230002","direction":"inbound","callId":"c-2d8e6b6c-1b1f-4b4f-9d1a-4f5c2c8b0f3e",` +
	`"callUrl":"https://voice.example.com/api/v2/accounts/9900000/calls/c-2d8e6b6c","startTime":"2026-11-23T09:00:00.000Z",` +
	`"variables":{"customer":"cust-9"}}`)

// BenchmarkHandleWarm is the per-event cost of a warm Go guest: pool
// acquire, deadline, event copy-in, guest JSON decode, handler, decision
// copy-out, host decode and validation.
func BenchmarkHandleWarm(b *testing.B) { benchHandle(b, sdk.EventInitiate, benchEvent) }

// BenchmarkHandleNoop is the floor of an event through a Go guest: the
// same path with an event of a few bytes and a handler that answers nothing.
func BenchmarkHandleNoop(b *testing.B) { benchHandle(b, "noop", []byte(`{"v":1,"event":"noop"}`)) }

// benchHandle times HandleJSON of ev on a warm pool of the basic guest and
// reports its percentiles.
func benchHandle(b *testing.B, t sdk.EventType, ev []byte) {
	// A long deadline: a benchmark measures, it does not fail on a slow event.
	h := newTestHost(b, Config{Max: Limits{Timeout: 10 * time.Second}})
	p := newTestPool(b, h, "basic", PoolConfig{Limits: Limits{Timeout: 10 * time.Second}})
	ctx := context.Background()
	if _, err := p.HandleJSON(ctx, t, ev); err != nil {
		b.Fatal(err)
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := p.HandleJSON(ctx, t, ev); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

// BenchmarkHandleWarmTyped adds the host-side encoding of an sdk.Event.
func BenchmarkHandleWarmTyped(b *testing.B) {
	h := newTestHost(b, Config{Max: Limits{Timeout: 10 * time.Second}})
	p := newTestPool(b, h, "basic", PoolConfig{Limits: Limits{Timeout: 10 * time.Second}})
	ctx := context.Background()
	ev := sdk.Event{Type: sdk.EventInitiate, Fields: map[string]any{"callId": "c-1", "from": "+15551230001", "to": "+15551230002"}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	at := func(q float64) float64 { return float64(durs[int(q*float64(len(durs)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(1), "max-ns")
}

// BenchmarkCompile is a cold compile of the Go guest (no disk cache).
func BenchmarkCompile(b *testing.B) {
	wasm := guest(b, "basic")
	ctx := context.Background()
	for range b.N {
		h := newTestHost(b, Config{CacheDir: b.TempDir()})
		m, err := h.Compile(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		m.Close(ctx)
		h.Close(ctx)
	}
}

// BenchmarkInstantiate starts (and closes) one Go guest instance, which
// runs the Go runtime's initialisation.
func BenchmarkInstantiate(b *testing.B) {
	h := newTestHost(b, Config{})
	ctx := context.Background()
	m, err := h.Compile(ctx, guest(b, "basic"))
	if err != nil {
		b.Fatal(err)
	}
	limits := h.Limits(Limits{})
	b.ResetTimer()
	for range b.N {
		inst, err := h.instantiate(ctx, m, limits, "bench", h.log)
		if err != nil {
			b.Fatal(err)
		}
		inst.close(ctx)
	}
}

// BenchmarkWarmInstanceMemory reports the memory one warm instance holds:
// its linear memory (guest pages) and the host heap it adds in total. It
// measures 20 instances once; ns/op means nothing here.
func BenchmarkWarmInstanceMemory(b *testing.B) {
	h := newTestHost(b, Config{})
	ctx := context.Background()
	m, err := h.Compile(ctx, guest(b, "basic"))
	if err != nil {
		b.Fatal(err)
	}
	limits := h.Limits(Limits{})
	const n = 20
	insts := make([]*instance, 0, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		inst, err := h.instantiate(ctx, m, limits, "bench", h.log)
		if err != nil {
			b.Fatal(err)
		}
		// One event, so the instance is as warm as a pooled one.
		cs := &callState{event: benchEvent, limits: &limits, kv: h.cfg.KV, logger: h.log}
		if _, _, err := inst.run(ctx, cs, "bench"); err != nil {
			b.Fatal(err)
		}
		insts = append(insts, inst)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	pages := insts[0].mod.Memory().Size()
	b.ReportMetric(float64(pages), "linear-bytes/instance")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/instance")
	for _, inst := range insts {
		inst.close(ctx)
	}
	for range b.N {
	}
}

// BenchmarkHandleHostOnly is the host's share of an event: the same pool
// path with a hand-assembled guest that writes a fixed decision, so no
// guest runtime cost is included.
func BenchmarkHandleHostOnly(b *testing.B) {
	h := newTestHost(b, Config{})
	ctx := context.Background()
	m, err := h.Compile(ctx, abiModule(`{"v":1,"bxml":"<Response><Hangup/></Response>"}`).bytes())
	if err != nil {
		b.Fatal(err)
	}
	p, err := h.NewPool(ctx, m, PoolConfig{Name: "asm"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := p.HandleJSON(ctx, sdk.EventInitiate, benchEvent); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}
