package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/server"
)

// syncBuffer lets the test read what the server goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs the server as main would and waits until /readyz answers.
func startServe(t *testing.T, dataDir string, addrOut *string) (stdout *syncBuffer, stop func() error) {
	t.Helper()
	stdout, _, stop = startServeLogs(t, dataDir, addrOut)
	return stdout, stop
}

// startServeLogs is startServe keeping the log (warnings and up).
func startServeLogs(t *testing.T, dataDir string, addrOut *string) (stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	*addrOut = addr
	// The server stops on stop() or at the latest when the test ends.
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	errc := testenv.Go(t, func(context.Context) error {
		return run(ctx, []string{"--data-dir", dataDir, "--http-addr", addr, "--sip-addr", "127.0.0.1:0", "--log-level", "warn"}, stdout, stderr)
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-errc:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stdout, stderr, func() error { cancel(); return <-errc }
}

func TestFirstStartPrintsCredentialsOnce(t *testing.T) {
	dir := t.TempDir()
	var addr string
	out, stop := startServe(t, dir, &addr)
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	for _, k := range []string{"accountId:", "clientId:", "clientSecret:"} {
		if !strings.Contains(out.String(), k) {
			t.Fatalf("first start output lacks %s:\n%s", k, out)
		}
	}
	out2, stop2 := startServe(t, dir, &addr)
	// The restarted server still knows the client made at first start.
	id, secret := field(out.String(), "clientId:"), field(out.String(), "clientSecret:")
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token after restart: %v %v", err, resp)
	}
	resp.Body.Close()
	stop2()
	if strings.Contains(out2.String(), "clientSecret") {
		t.Fatalf("second start printed credentials again:\n%s", out2)
	}
}

// A relative --data-dir is resolved and printed; a start that makes a new
// node says so loudly, and a restart does not.
func TestDataDirResolvedAndNewNodeWarned(t *testing.T) {
	t.Chdir(t.TempDir())
	var addr string
	out, logs, stop := startServeLogs(t, "node-data", &addr)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("node-data")
	if !strings.Contains(out.String(), abs) {
		t.Errorf("first start does not name %s:\n%s", abs, out)
	}
	if !strings.Contains(logs.String(), "created the data directory and an account") {
		t.Errorf("no warning about the new data directory:\n%s", logs)
	}
	_, logs2, stop2 := startServeLogs(t, abs, &addr)
	stop2()
	if strings.Contains(logs2.String(), "a new node") {
		t.Errorf("a restart warned of a new node:\n%s", logs2)
	}
}

func TestDefaultDataDirIsAbsolute(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/xdg")
	if d := server.DefaultDataDir(); d != "/srv/xdg/wasmvoice" {
		t.Errorf("with XDG_DATA_HOME: %s", d)
	}
	t.Setenv("XDG_DATA_HOME", "relative") // ignored, as the XDG spec says
	t.Setenv("HOME", "/home/ann")
	if d := server.DefaultDataDir(); d != "/home/ann/.local/share/wasmvoice" {
		t.Errorf("with HOME: %s", d)
	}
}

func TestVersionAndTypedFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, &bytes.Buffer{}); err != nil || !strings.HasPrefix(out.String(), "wasmvoice ") {
		t.Fatalf("--version: %v %q", err, out.String())
	}
	var help bytes.Buffer
	_ = run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &help)
	for _, want := range []string{"-max-calls-per-source int", "-sip-idle-timeout duration", "-sip-domain string"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, bad := range [][]string{{"--max-calls-per-source", "-1"}, {"--sip-idle-timeout", "0s"}, {"--wasm-warm", "x"}} {
		if err := run(context.Background(), append([]string{"--data-dir", t.TempDir()}, bad...), &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), bad[0][2:]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	t.Setenv("WASMVOICE_BAN_TIME", "forever")
	if err := run(context.Background(), []string{"--data-dir", t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "WASMVOICE_BAN_TIME") {
		t.Errorf("a bad environment value: %v", err)
	}
}

func TestCredentialsCreateJSON(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"credentials", "create", "--data-dir", dir, "--json"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var first map[string]string
	if err := json.Unmarshal(out.Bytes(), &first); err != nil || len(first) != 3 || first["accountId"] == "" || first["clientId"] == "" || first["clientSecret"] == "" {
		t.Fatalf("json output %q: %v", out.String(), err)
	}
	// A second client lands in the same (only) account; --account names another.
	out.Reset()
	run(context.Background(), []string{"credentials", "create", "--data-dir", dir, "--json"}, &out, &bytes.Buffer{})
	var second map[string]string
	json.Unmarshal(out.Bytes(), &second)
	if second["accountId"] != first["accountId"] || second["clientId"] == first["clientId"] {
		t.Fatalf("second client: %v vs %v", second, first)
	}
	out.Reset()
	if err := run(context.Background(), []string{"credentials", "create", "--data-dir", dir, "--account", "acme-1", "--json"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"accountId":"acme-1"`) {
		t.Fatalf("--account: %s", out.String())
	}
	// With two accounts, leaving --account out is an error that says so.
	if err := run(context.Background(), []string{"credentials", "create", "--data-dir", dir}, &out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--account") {
		t.Fatalf("ambiguous account: %v", err)
	}
}

func TestHelpDocumentsEveryFlagWithItsEnv(t *testing.T) {
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &errOut)
	if err != flag.ErrHelp {
		t.Fatalf("--help: %v", err)
	}
	for _, f := range []string{"data-dir", "http-addr", "sip-addr", "sip-tls-addr", "tls-cert", "tls-key", "sip-domain", "region", "media-ip", "rtp-ports", "log-format"} {
		if !strings.Contains(errOut.String(), "-"+f) || !strings.Contains(errOut.String(), envName(f)) {
			t.Errorf("--help lacks %s or %s", f, envName(f))
		}
	}
}

func TestEnvOverridesAndBadSettings(t *testing.T) {
	t.Setenv("WASMVOICE_REGION", "MARS")
	err := run(context.Background(), []string{"--data-dir", t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--region") {
		t.Fatalf("env override not applied or not validated: %v", err)
	}
}

func TestOpenAPISubcommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"openapi"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "components:") && !strings.Contains(out.String(), "openapi: 3.1.0") {
		t.Fatalf("not an OpenAPI 3.1 document: %.200s", out.String())
	}
}

// The binary stops cleanly on SIGTERM.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := t.TempDir() + "/wasmvoice"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	// Killed when the test ends, if it is still running then.
	cmd := exec.CommandContext(t.Context(), bin, "--data-dir", t.TempDir(), "--http-addr", addr, "--log-level", "error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := testenv.Go(t, func(context.Context) error { return cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("binary did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscallSIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func field(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// --database-url: --help never shows the URL (it holds a password), and a
// URL that names no PostgreSQL is refused before anything opens.
func TestDatabaseURLFlag(t *testing.T) {
	t.Setenv("WASMVOICE_DATABASE_URL", "postgres://wv:s3cret-pw@127.0.0.1:1/wv")
	var help bytes.Buffer
	_ = run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &help)
	if !strings.Contains(help.String(), "-database-url string") || strings.Contains(help.String(), "s3cret-pw") {
		t.Fatalf("--help shows the database URL or lacks the flag:\n%s", help.String())
	}
	err := run(context.Background(), []string{"--data-dir", t.TempDir(), "--database-url", "mysql://wv:s3cret-pw@h/wv"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--database-url") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("a MySQL URL: %v", err)
	}
}
