package e2e

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// maxPeerAttempts bounds restarts of a peer whose port, probed free, was
// taken before it bound it (the repository's tests run in parallel).
const maxPeerAttempts = 3

// startPeer starts an external peer (baresip, linphonec, Kamailio) and
// waits, up to 15 s, until ready reports it is up; ready is asked every
// 100 ms and may block briefly. launch builds the command, on ports probed
// afresh, for each attempt. When the process exits before it is ready and
// output (what it printed) says "Address already in use", it is started
// again. The process runs in a process group of its own; the test's cleanup
// sends it SIGTERM and, if it is still there 10 s later, SIGKILL to the
// whole group, then waits for it.
func startPeer(t *testing.T, name string, launch func() *exec.Cmd, ready func() bool, output func() string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cmd := launch()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		exited := testenv.Go(t, func(context.Context) error { return cmd.Wait() })
		gone := false // exited has delivered
		// Registered after testenv.Go, so it runs before Go's cleanup
		// waits for cmd.Wait.
		t.Cleanup(func() {
			if gone {
				return
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		})
		var err error
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			select {
			case err = <-exited:
				gone = true
			default:
			}
			if gone || ready() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not come up within 15 s\n%s", name, lastLines(output(), 40))
			}
		}
		if !gone {
			return
		}
		out := output()
		if attempt < maxPeerAttempts && strings.Contains(out, "Address already in use") {
			t.Logf("%s: a port was taken (%v); starting again on other ports", name, err)
			continue
		}
		t.Fatalf("%s exited before it was up: %v\n%s", name, err, lastLines(out, 40))
	}
}
