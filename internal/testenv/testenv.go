// Package testenv holds helpers shared by tests that need real external peers
// (sipp, baresip, espeak-ng, ...).
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where every tool the
// suite needs is installed by .ci/run and a missing one is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// LookTool returns the path of an external tool. Locally a missing tool skips
// the test; under CI it fails it, so a broken install never hides as a skip.
func LookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("%s is required in CI but not installed: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// Need stops a test whose library or tool could not be loaded (err is not
// nil): locally it skips, under CI it fails, like LookTool.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is required in CI but unavailable: %v", what, err)
	}
	t.Skipf("%s unavailable: %v", what, err)
}
