//go:build !wasm

package sdk

import (
	"fmt"
	"os"
	"sync"
)

// The native stand-in: Log and the KV store work in-process so guest logic
// unit-tests with go test. Limits match the host defaults.

var (
	nativeMu  sync.Mutex
	nativeKV  = map[string][]byte{}
	nativeLog = func(level Level, msg string) { fmt.Fprintf(os.Stderr, "wasm guest [%d] %s\n", level, msg) }
)

// SetLogOutput replaces where Log writes in native builds (for tests).
func SetLogOutput(f func(Level, string)) {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeLog = f
}

// ResetKV empties the native key-value store (for tests).
func ResetKV() {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeKV = map[string][]byte{}
}

// Log writes a message through the function set by SetLogOutput.
func Log(level Level, msg string) {
	nativeMu.Lock()
	f := nativeLog
	nativeMu.Unlock()
	f(level, msg)
}

// KVGet reads from the in-memory store.
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

// KVSet writes to the in-memory store.
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
