//go:build wasm

package sdk

import (
	"runtime"
	"unsafe"
)

//go:wasmimport wasmvoice_v1 event_read
func hostEventRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmvoice_v1 decision_write
func hostDecisionWrite(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmvoice_v1 log
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport wasmvoice_v1 kv_get
func hostKVGet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vcap uint32) int32

//go:wasmimport wasmvoice_v1 kv_set
func hostKVSet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32) int32

// abiV1 is the marker export that declares ABI version 1.
//
//go:wasmexport wasmvoice_abi_v1
func abiV1() {}

// init grows the Go heap to its working size while the instance starts
// (off the per-event path): otherwise the first thousand or so events of
// every instance each pay for a heap growth, tens of milliseconds apiece
// under WebAssembly, enough to miss the event deadline.
func init() {
	warm := make([]byte, heapWarmBytes)
	runtime.KeepAlive(warm)
	warm = nil
	runtime.GC()
}

// heapWarmBytes is about the steady-state heap of a Go guest handling
// events (measured: linear memory settles near 8 MiB).
const heapWarmBytes = 4 << 20

// eventBuf is reused across events; decoding copies what it keeps.
var eventBuf []byte

//go:wasmexport wasmvoice_handle
func wasmvoiceHandle(eventLen int32) int32 {
	if eventLen < 0 {
		return HandleFailed
	}
	if cap(eventBuf) < int(eventLen) {
		eventBuf = make([]byte, eventLen)
	}
	buf := eventBuf[:eventLen]
	if eventLen > 0 {
		n := hostEventRead(unsafe.Pointer(unsafe.SliceData(buf)), uint32(eventLen))
		if n != eventLen {
			return HandleFailed
		}
	}
	out, code := Dispatch(buf)
	if rc := hostDecisionWrite(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out))); rc != CodeOK {
		return HandleFailed
	}
	runtime.KeepAlive(out)
	return code
}

// Log sends a message to the call's log, tagged with the module name. The
// host truncates long messages and drops messages past a per-event budget.
func Log(level Level, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// KVGet reads a value from the application's key-value store.
func KVGet(key string) ([]byte, bool, error) {
	if key == "" {
		return nil, false, ErrKVInvalid
	}
	buf := make([]byte, 512)
	for {
		n := hostKVGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
			unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
		switch {
		case n == CodeNotFound:
			return nil, false, nil
		case n < 0:
			return nil, false, codeErr(n)
		case int(n) <= len(buf):
			return buf[:n], true, nil
		}
		// The value is larger than the buffer: ask again with the size the
		// host reported.
		buf = make([]byte, n)
	}
}

// KVSet writes a value to the application's key-value store.
func KVSet(key string, value []byte) error {
	if key == "" {
		return ErrKVInvalid
	}
	rc := hostKVSet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(value)), uint32(len(value)))
	runtime.KeepAlive(value)
	if rc != CodeOK {
		return codeErr(rc)
	}
	return nil
}
