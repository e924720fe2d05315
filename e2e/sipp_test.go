package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// sippRun is a sipp process running one scenario from e2e/sipp.
type sippRun struct {
	cmd  *exec.Cmd
	dir  string
	out  *bytes.Buffer
	done chan error
}

// startSipp renders e2e/sipp/<scenario> (a Go text/template around a sipp
// scenario: {{...}} is ours, [...] is sipp's) with data and runs it once
// against target with args added.
func startSipp(t *testing.T, scenario string, data any, target string, args ...string) *sippRun {
	t.Helper()
	bin := testenv.LookTool(t, "sipp")
	dir := t.TempDir()
	tmpl, err := template.ParseFiles(filepath.Join("sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	var xml bytes.Buffer
	if err := tmpl.Execute(&xml, data); err != nil {
		t.Fatal(err)
	}
	sf := filepath.Join(dir, scenario)
	if err := os.WriteFile(sf, xml.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-sf", sf, "-m", "1", "-nostdin", "-t", "u1",
		"-timeout", "40s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "err.log"),
		"-buff_size", "4194304", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t))}, args...)
	full = append(full, target)
	cmd := exec.Command(bin, full...)
	cmd.Dir = dir
	r := &sippRun{cmd: cmd, dir: dir, out: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		err := <-r.done
		r.done <- err
	})
	return r
}

// wait waits for sipp to finish and fails the test, with sipp's own error
// log, unless it exited 0 (every scenario step passed).
func (r *sippRun) wait(t *testing.T, timeout time.Duration) bool {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			errLog, _ := os.ReadFile(filepath.Join(r.dir, "err.log"))
			t.Errorf("sipp %s: %v\n%s\n%s", filepath.Base(r.cmd.Args[2]), err, lastLines(r.out.String(), 20), errLog)
			return false
		}
		return true
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		t.Errorf("sipp %s did not finish within %s", filepath.Base(r.cmd.Args[2]), timeout)
		return false
	}
}
