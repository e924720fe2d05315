package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Wasm guests are built once per test binary run (the go build cache keeps
// rebuilds to a link step), and every test binary of the module shares one
// wazero compilation cache, so a Go guest compiles to machine code once.

var guests = struct {
	sync.Mutex
	built map[string][]byte
}{built: map[string][]byte{}}

// WasmDir is a directory shared by the module's test binaries.
func WasmDir(t testing.TB) string {
	t.Helper()
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	d = filepath.Join(d, "wasmvoice", "test-wasm")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// WasmCompilationCache is the shared wazero compilation cache directory.
func WasmCompilationCache(t testing.TB) string {
	return filepath.Join(WasmDir(t), "compilation-cache")
}

// BuildGuest builds the Go package in dir (relative to the test's package
// directory, e.g. "../examples/ivr" or "./testdata/basic") for GOOS=wasip1
// as a reactor and returns the module's bytes.
func BuildGuest(t testing.TB, dir string) []byte {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	guests.Lock()
	defer guests.Unlock()
	if b, ok := guests.built[abs]; ok {
		return b
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool needed to build Wasm guests: %v", err)
	}
	name := strings.NewReplacer(string(filepath.Separator), "_", ":", "_").Replace(strings.TrimPrefix(abs, string(filepath.Separator)))
	// Test binaries of several packages build the same guests at once: each
	// writes its own file.
	out := filepath.Join(WasmDir(t), fmt.Sprintf("%s.%d.wasm", name, os.Getpid()))
	defer os.Remove(out)
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build guest %s: %v\n%s", dir, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	guests.built[abs] = b
	return b
}
