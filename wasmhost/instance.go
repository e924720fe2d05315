package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// instantiateTimeout bounds _initialize: a Go guest starts in milliseconds.
const instantiateTimeout = 2 * time.Second

// stderrHeadBytes is how much of the guest's stderr an EventError carries:
// the start, where a runtime prints "panic: ..." or "fatal error: ...".
const stderrHeadBytes = 512

// liveInstances mirrors the instances_live gauge for tests and Stats.
var liveInstances atomic.Int64

// instance is one live module instance. It runs one event at a time.
type instance struct {
	mod    api.Module
	handle api.Function
	denied atomic.Bool // a memory grow past the cap was refused
	// flag is the interrupt global (interrupt.go); interrupted records
	// that the host set it, so the trap that follows is read as a
	// deadline or cancellation, and the instance is never reused.
	flag        api.MutableGlobal
	interrupted atomic.Bool
	cur         *callState // the event in flight, for stdout/stderr
	stdout      *guestOutput
	stderr      *guestOutput
	idle        *slog.Logger
	stack       [1]uint64
}

// instantiate starts a fresh instance of m under limits: no filesystem,
// args, environment or sockets; crypto/rand randomness; wazero's fake
// clocks (the Go runtime only needs a monotonic clock, which the fake
// provides; calls carry their own timestamps in the event).
func (h *Host) instantiate(ctx context.Context, m *Module, limits Limits, name string, logger *slog.Logger) (*instance, error) {
	start := time.Now()
	inst := &instance{idle: logger.With("module", name)}
	inst.stdout = &guestOutput{inst: inst, source: "stdout", level: slog.LevelInfo}
	inst.stderr = &guestOutput{inst: inst, source: "stderr", level: slog.LevelWarn}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize runs below, under the watchdog
		WithRandSource(rand.Reader).
		WithStdout(inst.stdout).
		WithStderr(inst.stderr)
	ictx, cancel := context.WithTimeout(ctx, instantiateTimeout)
	defer cancel()
	ictx = experimental.WithMemoryAllocator(ictx, cappedAllocator{
		limit:  uint64(limits.MemoryPages) * 65536,
		denied: &inst.denied,
	})
	// _initialize may write to stdout/stderr; give it a budget too.
	inst.begin(&callState{limits: &limits, logger: inst.idle})
	mod, err := h.runtime.InstantiateModule(ictx, m.compiled, cfg)
	if err == nil {
		inst.mod = mod
		inst.flag, _ = mod.ExportedGlobal(interruptExport).(api.MutableGlobal)
		if inst.flag == nil {
			err = fmt.Errorf("interrupt global %s missing", interruptExport)
		} else if init := mod.ExportedFunction("_initialize"); init != nil {
			stop := context.AfterFunc(ictx, inst.interrupt)
			_, err = init.Call(ictx)
			if !stop() && err == nil {
				err = fmt.Errorf("_initialize: %w", ictx.Err())
			}
		}
		if err != nil {
			if cerr := mod.Close(ctx); cerr != nil {
				inst.idle.Warn("close instance", "error", cerr)
			}
		}
	}
	inst.end()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wasmhost: instantiate %s: %w", name, ctx.Err())
		}
		if inst.denied.Load() {
			return nil, fmt.Errorf("%w: %w: memory cap of %d pages", ErrInstantiate, ErrMemoryLimit, limits.MemoryPages)
		}
		if inst.interrupted.Load() {
			return nil, fmt.Errorf("%w: _initialize ran past %v", ErrInstantiate, instantiateTimeout)
		}
		return nil, fmt.Errorf("%w: %v", ErrInstantiate, err)
	}
	inst.handle = mod.ExportedFunction(sdk.ExportHandle)
	instancesLive.Inc()
	liveInstances.Add(1)
	instantiateSeconds.Observe(time.Since(start).Seconds())
	return inst, nil
}

func (inst *instance) begin(cs *callState) { inst.cur = cs }

// interrupt makes the guest trap within interruptFuel loop iterations. It
// is safe to call from any goroutine, also after the guest has returned
// (the instance is then discarded: see run).
func (inst *instance) interrupt() {
	inst.interrupted.Store(true)
	inst.flag.Set(1)
}

func (inst *instance) end() {
	inst.stdout.flush(inst.cur)
	inst.stderr.flush(inst.cur)
	inst.cur = nil
}

func (inst *instance) close(ctx context.Context) {
	if err := inst.mod.Close(ctx); err != nil {
		inst.idle.Warn("close instance", "error", err)
	}
	instancesLive.Dec()
	liveInstances.Add(-1)
}

// run calls wasmvoice_handle for one event. It returns the decision bytes,
// or an *EventError; healthy reports whether the instance may be reused.
func (inst *instance) run(ctx context.Context, cs *callState, module string) (out []byte, healthy bool, err error) {
	fail := func(kind error, detail string) ([]byte, bool, error) {
		return nil, false, &EventError{Kind: kind, Module: module, Detail: detail, Stderr: string(cs.stderrHead)}
	}
	inst.begin(cs)
	inst.stack[0] = api.EncodeI32(int32(len(cs.event)))
	stop := context.AfterFunc(ctx, inst.interrupt)
	callErr := inst.handle.CallWithStack(context.WithValue(ctx, callStateKey{}, cs), inst.stack[:])
	// An interrupt that fired after the guest returned still left the
	// flag set: the answer stands, the instance goes.
	healthy = stop()
	inst.end()
	if callErr != nil {
		var exit *sys.ExitError
		switch {
		case inst.denied.Load():
			return fail(ErrMemoryLimit, fmt.Sprintf("grow past %d pages refused", cs.limits.MemoryPages))
		case inst.interrupted.Load() && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fail(ErrTimeout, fmt.Sprintf("deadline %v", cs.limits.Timeout))
		case inst.interrupted.Load():
			return fail(ErrCanceled, context.Cause(ctx).Error())
		case errors.As(callErr, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
			return fail(ErrTimeout, fmt.Sprintf("deadline %v", cs.limits.Timeout))
		case errors.As(callErr, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
			return fail(ErrCanceled, context.Cause(ctx).Error())
		case errors.As(callErr, &exit):
			return fail(ErrTrap, fmt.Sprintf("guest exited with code %d", exit.ExitCode()))
		}
		return fail(ErrTrap, callErr.Error())
	}
	rc := api.DecodeI32(inst.stack[0])
	switch {
	case rc == sdk.HandlePanicked:
		return fail(ErrTrap, "handler panicked: "+decisionError(cs.decision))
	case cs.decisionRefused > 0:
		return fail(ErrBadDecision, fmt.Sprintf("decision of %d bytes above the %d byte cap", cs.decisionRefused, cs.limits.MaxDecisionBytes))
	case rc != sdk.HandleOK:
		return fail(ErrBadDecision, fmt.Sprintf("%s returned %d", sdk.ExportHandle, rc))
	case !cs.decisionWritten:
		return fail(ErrBadDecision, "no decision written")
	}
	return cs.decision, healthy, nil
}

// guestOutput sends a guest's stdout or stderr to the log of the event in
// flight, one record per line (runtimes write in small pieces), under the
// same budget as log.
type guestOutput struct {
	inst    *instance
	source  string
	level   slog.Level
	pending []byte
}

func (w *guestOutput) Write(p []byte) (int, error) {
	cs := w.inst.cur
	if cs == nil {
		return len(p), nil
	}
	if w.source == "stderr" && len(cs.stderrHead) < stderrHeadBytes {
		cs.stderrHead = append(cs.stderrHead, p[:min(len(p), stderrHeadBytes-len(cs.stderrHead))]...)
	}
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.emit(cs, w.pending[:i])
		w.pending = w.pending[i+1:]
	}
	if len(w.pending) >= maxLogMessage {
		w.emit(cs, w.pending)
		w.pending = w.pending[:0]
	}
	if len(w.pending) == 0 {
		w.pending = nil
	}
	return len(p), nil
}

// flush emits a last unterminated line at the end of an event.
func (w *guestOutput) flush(cs *callState) {
	if len(w.pending) > 0 {
		w.emit(cs, w.pending)
	}
	w.pending = nil
}

func (w *guestOutput) emit(cs *callState, line []byte) {
	line = bytes.TrimRight(line, "\r")
	truncated := len(line) > maxLogMessage
	if truncated {
		line = line[:maxLogMessage]
	}
	if len(line) > 0 {
		cs.emit(context.Background(), w.level, string(line), w.source, truncated)
	}
}
