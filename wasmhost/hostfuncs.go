package wasmhost

import (
	"context"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmvoice/wasmvoice/sdk"
)

var (
	i32 = api.ValueTypeI32
)

// hostFunc is one wasmvoice_v1 import: its signature (checked at Compile)
// and implementation.
type hostFunc struct {
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

// hostFuncs is the whole wasmvoice_v1 namespace.
var hostFuncs = map[string]hostFunc{
	"event_read":     {[]api.ValueType{i32, i32}, []api.ValueType{i32}, eventRead},
	"decision_write": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, decisionWrite},
	"log":            {[]api.ValueType{i32, i32, i32}, nil, logMessage},
	"kv_get":         {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, kvGet},
	"kv_set":         {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, kvSet},
}

func instantiateHostModule(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder(sdk.ImportModule)
	for name, f := range hostFuncs {
		b = b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// callState is what the host functions see of the event in flight. It
// travels in the ctx of the wasmvoice_handle call, so the host module is
// shared by every instance and needs no lookup table.
type callState struct {
	event    []byte
	limits   *Limits
	app      string
	kv       KV
	logger   *slog.Logger
	kvOps    int
	logBytes int
	logNoted bool

	decision        []byte
	decisionWritten bool
	decisionRefused int // size of a decision refused for being too large

	stderrHead []byte
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callStateKey{}).(*callState)
	return cs
}

// checkCtx stops the guest as soon as the event's context is over, the
// same way wazero stops a running guest: by raising an exit error.
func checkCtx(ctx context.Context) {
	switch ctx.Err() {
	case nil:
	case context.DeadlineExceeded:
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	default:
		panic(sys.NewExitError(sys.ExitCodeContextCanceled))
	}
}

// read copies n bytes at ptr out of guest memory: a view would go stale
// when the guest grows its memory.
func read(mod api.Module, ptr, n uint32) ([]byte, bool) {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func setI32(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }

// event_read(ptr, len) -> copied bytes or a negative code.
func eventRead(ctx context.Context, mod api.Module, stack []uint64) {
	checkCtx(ctx)
	cs := stateFrom(ctx)
	if cs == nil {
		setI32(stack, sdk.CodeNoEvent)
		return
	}
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	n = min(n, uint32(len(cs.event)))
	if !mod.Memory().Write(ptr, cs.event[:n]) {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	setI32(stack, int32(n))
}

// decision_write(ptr, len) -> 0 or a negative code. A second write replaces
// the first.
func decisionWrite(ctx context.Context, mod api.Module, stack []uint64) {
	checkCtx(ctx)
	cs := stateFrom(ctx)
	if cs == nil {
		setI32(stack, sdk.CodeNoEvent)
		return
	}
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if uint64(n) > uint64(cs.limits.MaxDecisionBytes) {
		cs.decisionRefused = int(n)
		setI32(stack, sdk.CodeTooLarge)
		return
	}
	b, ok := read(mod, ptr, n)
	if !ok {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	cs.decision, cs.decisionWritten, cs.decisionRefused = b, true, 0
	setI32(stack, sdk.CodeOK)
}

// log(level, ptr, len): to the call's logger, cut at maxLogMessage, dropped
// once the event's log budget is spent. Bad pointers are ignored: logging
// must never be the reason a call fails.
func logMessage(ctx context.Context, mod api.Module, stack []uint64) {
	checkCtx(ctx)
	cs := stateFrom(ctx)
	if cs == nil {
		return
	}
	level, ptr, n := api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	truncated := n > maxLogMessage
	n = min(n, maxLogMessage)
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return
	}
	cs.emit(ctx, slogLevel(level), string(b), "log", truncated)
}

func slogLevel(l int32) slog.Level {
	switch sdk.Level(l) {
	case sdk.LevelDebug:
		return slog.LevelDebug
	case sdk.LevelWarn:
		return slog.LevelWarn
	case sdk.LevelError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// emit logs one guest message against the event's budget.
func (cs *callState) emit(ctx context.Context, level slog.Level, msg, source string, truncated bool) {
	if cs.logBytes+len(msg) > cs.limits.MaxLogBytes {
		if !cs.logNoted {
			cs.logNoted = true
			cs.logger.WarnContext(ctx, "guest log budget used up; dropping further output", "budget", cs.limits.MaxLogBytes)
		}
		return
	}
	cs.logBytes += len(msg)
	if truncated {
		cs.logger.Log(ctx, level, msg, "source", source, "truncated", true)
		return
	}
	cs.logger.Log(ctx, level, msg, "source", source)
}

// kvBegin applies the per-event checks every KV call shares.
func kvBegin(ctx context.Context, stack []uint64) (*callState, int32) {
	checkCtx(ctx)
	cs := stateFrom(ctx)
	if cs == nil {
		return nil, sdk.CodeNoEvent
	}
	if cs.kvOps >= cs.limits.MaxKVOps {
		return nil, sdk.CodeBudget
	}
	cs.kvOps++
	klen := api.DecodeU32(stack[1])
	switch {
	case klen == 0:
		return nil, sdk.CodeInvalid
	case uint64(klen) > uint64(cs.limits.MaxKVKeyBytes):
		return nil, sdk.CodeTooLarge
	}
	return cs, sdk.CodeOK
}

// kv_get(key_ptr, key_len, val_ptr, val_cap) -> value length, or a negative
// code. The value is copied only when it fits in val_cap; otherwise the
// guest calls again with a buffer of the returned length.
func kvGet(ctx context.Context, mod api.Module, stack []uint64) {
	cs, code := kvBegin(ctx, stack)
	if code != sdk.CodeOK {
		setI32(stack, code)
		return
	}
	key, ok := mod.Memory().Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	vptr, vcap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	val, found, err := cs.kv.Get(ctx, cs.app, string(key))
	checkCtx(ctx)
	switch {
	case err != nil:
		cs.logger.WarnContext(ctx, "kv get failed", "error", err)
		setI32(stack, sdk.CodeStoreError)
		return
	case !found:
		setI32(stack, sdk.CodeNotFound)
		return
	case len(val) > 1<<30:
		setI32(stack, sdk.CodeTooLarge)
		return
	}
	if uint64(len(val)) <= uint64(vcap) && !mod.Memory().Write(vptr, val) {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	setI32(stack, int32(len(val)))
}

// kv_set(key_ptr, key_len, val_ptr, val_len) -> 0 or a negative code.
func kvSet(ctx context.Context, mod api.Module, stack []uint64) {
	cs, code := kvBegin(ctx, stack)
	if code != sdk.CodeOK {
		setI32(stack, code)
		return
	}
	vptr, vlen := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if uint64(vlen) > uint64(cs.limits.MaxKVValueBytes) {
		setI32(stack, sdk.CodeTooLarge)
		return
	}
	key, ok := mod.Memory().Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	val, ok := read(mod, vptr, vlen)
	if !ok {
		setI32(stack, sdk.CodeBadPointer)
		return
	}
	// string(key) copies the key out of guest memory.
	if err := cs.kv.Set(ctx, cs.app, string(key), val); err != nil {
		checkCtx(ctx)
		cs.logger.WarnContext(ctx, "kv set failed", "error", err)
		setI32(stack, sdk.CodeStoreError)
		return
	}
	setI32(stack, sdk.CodeOK)
}
