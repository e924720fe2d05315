package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/tetratelabs/wazero"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sdk"
)

// spinModule is a guest whose handle loops forever without calling the host.
func spinModule() asmModule {
	m := abiModule(`{"v":1}`)
	m.funcs[1].body = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x41, 0x00} // loop br 0 end; i32.const 0
	return m
}

func instrumentSeeds() [][]byte {
	withGlobal := abiModule(`{"v":1,"bxml":"<Response/>"}`)
	withGlobal.imports = append(withGlobal.imports, asmImport{module: "env", name: "g", global: true})
	// Every immediate shape skipImmediates knows, in one body.
	shapes := abiModule(`{"v":1}`)
	shapes.funcs[1].body = []byte{
		0x02, 0x40, 0x0b, // block end
		0x41, 0x80, 0x80, 0x04, 0x1a, // i32.const (multi-byte); drop
		0x42, 0x7f, 0x1a, // i64.const -1; drop
		0x43, 0, 0, 0, 0, 0x1a, // f32.const; drop
		0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, // f64.const; drop
		0x41, 0x00, 0x28, 0x02, 0x00, 0x1a, // i32.load; drop
		0x3f, 0x00, 0x1a, // memory.size; drop
		0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00, // memory.fill
		0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00, // memory.copy
		0x41, 0x01, 0x04, 0x40, 0x05, 0x0b, // if else end
		0x02, 0x40, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b, // block br_table end
		0x03, 0x7f, 0x41, 0x00, 0x0b, 0x1a, // loop (result i32) end; drop
		0x41, 0x00, // i32.const 0
	}
	return [][]byte{abiModule(`{"v":1}`).bytes(), withGlobal.bytes(), spinModule().bytes(), shapes.bytes()}
}

// Whatever wazero accepts, instrument rewrites into something wazero
// accepts too; nothing makes it panic.
func FuzzInstrument(f *testing.F) {
	for _, s := range append(moduleSeeds(), instrumentSeeds()...) {
		f.Add(s)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := instrument(b)
		if err != nil {
			if !errors.Is(err, errMalformed) && !errors.Is(err, errInstrument) {
				t.Fatalf("error %v wraps neither errMalformed nor errInstrument", err)
			}
			return
		}
		orig, origErr := r.CompileModule(ctx, b)
		if origErr != nil {
			return
		}
		orig.Close(ctx)
		inst, err := r.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
		inst.Close(ctx)
	})
}

// Every seed is a valid module that instruments into a valid module with
// the interrupt global exported.
func TestInstrumentSeeds(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	for i, b := range instrumentSeeds() {
		if _, err := r.CompileModule(ctx, b); err != nil {
			t.Fatalf("seed %d is not valid: %v", i, err)
		}
		out, err := instrument(b)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		c, err := r.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("seed %d instrumented: %v", i, err)
		}
		if _, ok := c.ExportedFunctions()[sdk.ExportHandle]; !ok {
			t.Errorf("seed %d lost its exports", i)
		}
	}
	m := abiModule(`{"v":1}`)
	m.funcs = append(m.funcs, asmFunc{name: interruptExport})
	if _, err := instrument(m.bytes()); !errors.Is(err, errInstrument) {
		t.Errorf("a module exporting %s: %v", interruptExport, err)
	}
}

// A guest spinning in a loop that never calls the host is stopped at its
// deadline, and the instance is replaced.
func TestInterruptStopsSpinningGuest(t *testing.T) {
	h := newTestHost(t, Config{})
	ctx := context.Background()
	m, err := h.Compile(ctx, spinModule().bytes())
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.NewPool(ctx, m, PoolConfig{Name: "spin", MaxInstances: 1, Limits: Limits{Timeout: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for range 3 {
		start := time.Now()
		_, err := p.HandleJSON(ctx, sdk.EventInitiate, benchEvent)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		t.Logf("stopped after %v (deadline 20ms)", time.Since(start))
	}
	// A canceled caller stops it the same way, reported as a cancellation
	// (a pool with a long deadline, so the cancellation comes first).
	long, err := h.NewPool(ctx, m, PoolConfig{Name: "spin-long", MaxInstances: 1, Limits: Limits{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close(ctx)
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(5*time.Millisecond, cancel)
	if _, err := long.HandleJSON(cctx, sdk.EventInitiate, benchEvent); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled: err = %v, want ErrCanceled", err)
	}
}

// A spinning guest must not stall the Go runtime: native code cannot be
// preempted, so without the instrumented trips through Go a collection
// that stops the world would wait for the guest, and the deadline timer
// with it. runtime.GC must return while a guest spins.
func TestSpinningGuestDoesNotStallGC(t *testing.T) {
	h := newTestHost(t, Config{Max: Limits{Timeout: time.Minute}})
	ctx := context.Background()
	m, err := h.Compile(ctx, spinModule().bytes())
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.NewPool(ctx, m, PoolConfig{Name: "spin", MaxInstances: 1, Limits: Limits{Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := testenv.Go(t, func(context.Context) error {
		_, err := p.HandleJSON(cctx, sdk.EventInitiate, benchEvent)
		return err
	})
	time.Sleep(20 * time.Millisecond) // let the guest start spinning
	gcDone := testenv.Go(t, func(context.Context) error {
		for range 3 {
			runtime.GC()
		}
		return nil
	})
	select {
	case <-gcDone:
	case <-time.After(30 * time.Second):
		t.Error("runtime.GC did not return while a guest was spinning")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v, want ErrCanceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the spinning guest was not stopped")
	}
}

// instantiations is how many instances the host has started so far.
func instantiations(t *testing.T) uint64 {
	t.Helper()
	var m dto.Metric
	if err := instantiateSeconds.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// Once a pool is warm, events run on the instance it holds: nothing is
// instantiated, reset or re-validated per event. (MaxInstances 1 keeps the
// refiller from topping the pool up in the background, which is allowed
// but would blur the count.)
func TestWarmPoolDoesNotInstantiatePerEvent(t *testing.T) {
	h := newTestHost(t, Config{Max: Limits{Timeout: 10 * time.Second}})
	p := newTestPool(t, h, "basic", PoolConfig{Warm: 1, MaxInstances: 1, Limits: Limits{Timeout: 10 * time.Second}})
	ctx := context.Background()
	waitFor(t, func() bool { return p.Stats() == Stats{Live: 1, Idle: 1} }, func() string {
		return "pool never warmed: " + fmt.Sprint(p.Stats())
	})
	before := instantiations(t)
	for i := range 500 {
		d, err := p.HandleJSON(ctx, sdk.EventInitiate, benchEvent)
		if err != nil || !strings.Contains(d.BXML, "Hello +15551230001") {
			t.Fatalf("event %d: %v %+v", i, err, d)
		}
	}
	if after := instantiations(t); after != before || p.Stats() != (Stats{Live: 1, Idle: 1}) {
		t.Errorf("500 events on a warm pool started %d instances (pool %+v)", after-before, p.Stats())
	}
}
