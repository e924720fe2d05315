//go:build !wasm

package sdk

import (
	"errors"
	"strings"
	"testing"
)

func TestNativeKVAndLog(t *testing.T) {
	ResetKV()
	if _, ok, err := KVGet("k"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	if err := KVSet("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := KVGet("k"); !ok || err != nil || string(v) != "v" {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	if err := KVSet("", nil); !errors.Is(err, ErrKVInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if err := KVSet(strings.Repeat("k", DefaultMaxKVKeyBytes+1), nil); !errors.Is(err, ErrKVTooLarge) {
		t.Fatalf("long key: %v", err)
	}
	if err := KVSet("k", make([]byte, DefaultMaxKVValueBytes+1)); !errors.Is(err, ErrKVTooLarge) {
		t.Fatalf("large value: %v", err)
	}
	var got []string
	SetLogOutput(func(l Level, msg string) { got = append(got, msg) })
	Logf(LevelWarn, "n=%d", 3)
	if len(got) != 1 || got[0] != "n=3" {
		t.Fatalf("log: %v", got)
	}
}
