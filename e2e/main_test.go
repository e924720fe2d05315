package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wasmvoiceBin is the wasmvoice executable built once for the whole run.
var wasmvoiceBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wasmvoice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wasmvoiceBin = filepath.Join(dir, "wasmvoice")
	build := exec.Command("go", "build", "-o", wasmvoiceBin, "github.com/wasmvoice/wasmvoice/cmd/wasmvoice")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building wasmvoice:", err)
		return 1
	}
	return m.Run()
}
