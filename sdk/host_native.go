//go:build !wasm

package sdk

import (
	"fmt"
	"os"
	"sync"
)

// The native stand-in: Log and the KV store work in-process so guest logic
// unit-tests with go test. Limits match the host defaults. The doc comments
// say what the calls do in a module (host_wasm.go), since that is what
// go doc shows a guest's author.

var (
	nativeMu  sync.Mutex
	nativeKV  = map[string][]byte{}
	nativeLog = func(level Level, msg string) { fmt.Fprintf(os.Stderr, "wasm guest [%d] %s\n", level, msg) }
)

// SetLogOutput replaces where Log writes in native builds (for tests); it
// does not exist in a module.
func SetLogOutput(f func(Level, string)) {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeLog = f
}

// ResetKV empties the native key-value store (for tests); it does not
// exist in a module.
func ResetKV() {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeKV = map[string][]byte{}
}

// Log sends a message to the call's log, tagged with the module name; the
// host cuts long messages and drops those past the event's log budget.
// Natively it goes to the function SetLogOutput set (default: stderr).
func Log(level Level, msg string) {
	nativeMu.Lock()
	f := nativeLog
	nativeMu.Unlock()
	f(level, msg)
}

// KVGet reads key from the application's key-value store: the value, and
// whether the key is there. Errors are ErrKVInvalid, ErrKVTooLarge,
// ErrKVBudget, ErrKVStore and ErrKVNoEvent. Natively it reads an in-memory
// stand-in that ResetKV empties.
func KVGet(key string) ([]byte, bool, error) {
	if key == "" {
		return nil, false, ErrKVInvalid
	}
	if len(key) > DefaultMaxKVKeyBytes {
		return nil, false, ErrKVTooLarge
	}
	nativeMu.Lock()
	defer nativeMu.Unlock()
	v, ok := nativeKV[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// KVSet writes key in the application's key-value store, which every
// module of the application and its operators (through the API) share.
// Errors as for KVGet. Natively it writes the in-memory stand-in.
func KVSet(key string, value []byte) error {
	if key == "" {
		return ErrKVInvalid
	}
	if len(key) > DefaultMaxKVKeyBytes || len(value) > DefaultMaxKVValueBytes {
		return ErrKVTooLarge
	}
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeKV[key] = append([]byte(nil), value...)
	return nil
}
