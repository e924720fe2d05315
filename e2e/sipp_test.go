package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// sippRun is a sipp process running one scenario from e2e/sipp.
type sippRun struct {
	t        *testing.T
	bin      string
	name     string // scenario file name
	dir      string
	sf       string
	args     []string
	target   string
	cmd      *exec.Cmd
	out      *bytes.Buffer
	done     chan error
	attempts int
}

// maxSippAttempts bounds restarts after a port another process took between
// our probe and sipp's bind (the whole repository's tests run in parallel).
const maxSippAttempts = 5

// startSipp renders e2e/sipp/<scenario> (a Go text/template around a sipp
// scenario: {{...}} is ours, [...] is sipp's) with data and runs it once
// against target with args added. startSipp picks the signalling (-p) and
// media (-mp) ports itself: sipp binds both at start and exits when either
// is taken, so wait restarts it on fresh ports in that case.
func startSipp(t *testing.T, scenario string, data any, target string, args ...string) *sippRun {
	t.Helper()
	return startSippFile(t, filepath.Join("sipp", scenario), data, target, args...)
}

// startSippFile is startSipp with the scenario at path (relative to e2e/),
// such as the README's under examples/sipp.
func startSippFile(t *testing.T, path string, data any, target string, args ...string) *sippRun {
	t.Helper()
	scenario := filepath.Base(path)
	r := &sippRun{t: t, bin: testenv.LookTool(t, "sipp"), name: scenario, dir: t.TempDir(), args: args, target: target}
	tmpl, err := template.ParseFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	var xml bytes.Buffer
	if err := tmpl.Execute(&xml, data); err != nil {
		t.Fatal(err)
	}
	r.sf = filepath.Join(r.dir, scenario)
	if err := os.WriteFile(r.sf, xml.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		err := <-r.done
		r.done <- err
	})
	return r
}

func (r *sippRun) start() {
	r.t.Helper()
	r.attempts++
	full := append([]string{"-sf", r.sf, "-m", "1", "-nostdin", "-t", "u1",
		"-timeout", "40s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(r.dir, "err.log"),
		"-buff_size", "4194304", "-i", "127.0.0.1",
		"-p", strconv.Itoa(testenv.FreeUDPPort(r.t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(r.t, 4))}, r.args...)
	full = append(full, r.target)
	r.cmd = exec.Command(r.bin, full...)
	r.cmd.Dir = r.dir
	r.out = &bytes.Buffer{}
	r.done = make(chan error, 1)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(r.cmd, r.done)
}

// bindFailed reports whether sipp exited because a port was taken: it
// binds before it sends anything, so starting again is safe.
func (r *sippRun) bindFailed() bool {
	errLog, _ := os.ReadFile(filepath.Join(r.dir, "err.log"))
	all := r.out.String() + string(errLog)
	return strings.Contains(all, "Unable to bind") || strings.Contains(all, "Address already in use")
}

// wait waits for sipp to finish and fails the test, with sipp's own error
// log, unless it exited 0 (every scenario step passed).
func (r *sippRun) wait(t *testing.T, timeout time.Duration) bool {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case err := <-r.done:
			if err != nil && r.bindFailed() && r.attempts < maxSippAttempts {
				t.Logf("sipp %s: a port was taken (%v); starting again", r.name, err)
				os.Remove(filepath.Join(r.dir, "err.log"))
				r.start()
				continue
			}
			r.done <- err // for the cleanup
			if err != nil {
				errLog, _ := os.ReadFile(filepath.Join(r.dir, "err.log"))
				t.Errorf("sipp %s: %v\n%s\n%s", r.name, err, lastLines(r.out.String(), 20), errLog)
				return false
			}
			return true
		case <-deadline:
			r.cmd.Process.Kill()
			t.Errorf("sipp %s did not finish within %s", r.name, timeout)
			return false
		}
	}
}

// runStats waits for sipp started with statsArgs to exit (a non-zero exit is
// not a failure here: some calls may fail by design) and returns how many
// calls succeeded and failed, from sipp's statistics file.
func (r *sippRun) runStats(t *testing.T, timeout time.Duration) (ok, failed int) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		t.Fatalf("sipp %s did not finish within %s", r.name, timeout)
	}
	b, err := os.ReadFile(filepath.Join(r.dir, "stats.csv"))
	if err != nil {
		t.Fatalf("sipp %s statistics: %v\n%s", r.name, err, lastLines(r.out.String(), 20))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		t.Fatalf("sipp %s statistics: %q", r.name, b)
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	col := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				n, _ := strconv.Atoi(last[i])
				return n
			}
		}
		t.Fatalf("sipp statistics lack %s", name)
		return 0
	}
	return col("SuccessfulCall(C)"), col("FailedCall(C)")
}

// statsArgs makes sipp write the statistics runStats reads.
func statsArgs() []string { return []string{"-trace_stat", "-stf", "stats.csv", "-fd", "1"} }
