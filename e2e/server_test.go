package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// server is one wasmvoice process started by a test.
type server struct {
	t       *testing.T
	api     string // http://127.0.0.1:port
	sip     string // 127.0.0.1:port, UDP and TCP
	domain  string // --sip-domain: the host of every sipUri
	host    string // the loopback address it listens on and advertises ("": 127.0.0.1)
	account string
	id      string // API client ID
	secret  string
	token   string
	logPath string
	data    string   // data directory
	rtp     string   // RTP port range
	wrap    []string // command the binary runs under (prlimit ...), if any
	extra   []string // extra flags
	// defaults: the binary runs with its default flags (startDefaultServer).
	defaults bool
	proc     *process // the running process
}

// process is one run of the binary.
type process struct {
	cmd    *exec.Cmd
	exited chan error
	killed bool // by the test (kill -9): its exit is not a failure
}

// pid is the running process's ID.
func (s *server) pid() int { return s.proc.cmd.Process.Pid }

// kill9 kills the process as a crash would, and waits for it.
func (s *server) kill9() {
	s.t.Helper()
	s.proc.killed = true
	s.proc.cmd.Process.Kill()
	<-s.proc.exited
}

// restart starts the binary again on the same data directory and ports.
func (s *server) restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart: %v\n%s", err, s.logTail(40))
	}
	s.token = s.getToken()
}

// rtpBase hands each server of this run its own RTP range: 30000-32767,
// below the kernel's ephemeral ports (a sprayer test sends to every port of
// a range; other processes' sockets must not be there) and apart from the
// other packages' test ranges (see server/harness_test.go).
var rtpBase = struct {
	sync.Mutex
	next int
}{next: 30000 + os.Getpid()%13*200}

// rtpRange hands each server its own RTP ports, wrapping around (with
// -count=3 more servers start than fit) when the earlier ones have stopped.
// Each test process starts at its own place in the range (by PID), so two
// e2e runs on one machine (two worktrees) rarely pick the same ports.
func rtpRange() string {
	rtpBase.Lock()
	defer rtpBase.Unlock()
	if rtpBase.next+200 > 32768 {
		rtpBase.next = 30000
	}
	lo := rtpBase.next
	rtpBase.next += 200
	return fmt.Sprintf("%d-%d", lo, lo+198)
}

// startServer creates API credentials in a fresh data dir, starts the binary
// on free 127.0.0.1 ports, waits for /readyz and fetches a token. The process
// is stopped with SIGTERM when the test ends.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startWrapped(t, nil, extraArgs...)
}

// startWrapped is startServer with the binary run under wrap (a command
// prefix such as prlimit --nofile=256).
func startWrapped(t *testing.T, wrap []string, extraArgs ...string) *server {
	t.Helper()
	return launchServer(t, &server{wrap: wrap, extra: extraArgs, domain: "127.0.0.1"})
}

// startDefaultServer starts the binary as a user does, with its default
// flags: only the data directory, the ports (on the default hosts: SIP and
// HTTP on every interface) and the RTP range are given. So the SIP domain is
// localhost and the media address the outbound interface's, as on a
// laptop, and the log level is info.
func startDefaultServer(t *testing.T) *server {
	t.Helper()
	return launchServer(t, &server{defaults: true, domain: "localhost"})
}

// launchServer creates API credentials in a fresh data dir for s, starts it
// and fetches a token.
func launchServer(t *testing.T, s *server) *server {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s.t = t
	s.createCredentials(data)
	s.logPath, s.data, s.rtp = filepath.Join(dir, "server.log"), data, rtpRange()
	s.boot()
	return s
}

// createCredentials makes an account and API client in the node's database
// (the SQLite file in data, or the database of a --database-url in s.extra)
// with the binary's credentials subcommand, and keeps them in s.
func (s *server) createCredentials(data string) {
	t := s.t
	t.Helper()
	args := []string{"credentials", "create", "--data-dir", data, "--json"}
	for i, a := range s.extra {
		if a == "--database-url" && i+1 < len(s.extra) {
			args = append(args, a, s.extra[i+1])
		}
	}
	out, err := exec.Command(wasmvoiceBin, args...).Output()
	if err != nil {
		t.Fatalf("credentials create: %v", err)
	}
	var creds struct {
		AccountID    string `json:"accountId"`
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatalf("credentials JSON %q: %v", out, err)
	}
	s.account, s.id, s.secret = creds.AccountID, creds.ClientID, creds.ClientSecret
}

// boot starts the binary on free ports (again, when a port was taken in
// between) and fetches a token.
func (s *server) boot() {
	t := s.t
	t.Helper()
	// The ports are probed free and bound by the server a moment later;
	// another process of a parallel test run may take one in between.
	for attempt := 1; ; attempt++ {
		err := s.launch()
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(s.logTail(20), "address already in use") {
			t.Logf("wasmvoice: a port was taken (%v); starting again on other ports", err)
			continue
		}
		t.Fatalf("%v\n%s", err, s.logTail(40))
	}
	s.token = s.getToken()
}

// launch starts the binary on free ports and waits for /readyz; an error
// means the process exited or never became ready (and is gone).
func (s *server) launch() error {
	httpPort, sipPort := testenv.FreeTCPPort(s.t), testenv.FreeSIPPort(s.t)
	s.api = fmt.Sprintf("http://%s:%d", s.ip(), httpPort)
	s.sip = fmt.Sprintf("%s:%d", s.ip(), sipPort)
	return s.start()
}

// ip is the loopback address the server listens on and advertises.
func (s *server) ip() string {
	if s.host == "" {
		return "127.0.0.1"
	}
	return s.host
}

// start runs the binary on the server's ports and waits for /readyz.
func (s *server) start() error {
	t := s.t
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, s.wrap...), wasmvoiceBin,
		"--data-dir", s.data,
		"--http-addr", strings.TrimPrefix(s.api, "http://"),
		"--sip-addr", s.sip,
		"--sip-domain", s.domain,
		"--media-ip", s.ip(),
		"--rtp-ports", s.rtp,
		"--log-level", "debug")
	if s.defaults {
		_, httpPort, _ := net.SplitHostPort(strings.TrimPrefix(s.api, "http://"))
		args = []string{wasmvoiceBin,
			"--data-dir", s.data,
			"--http-addr", ":" + httpPort, // the default is :8080
			"--sip-addr", "0.0.0.0:" + s.sipPort(), // the default is 0.0.0.0:5060
			"--rtp-ports", s.rtp}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Args = append(cmd.Args, s.extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	p := &process{cmd: cmd, exited: exited}
	s.proc = p
	// Generous: under a parallel test run of the whole repository the
	// machine's two cores are shared with compilers and other servers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("wasmvoice exited before ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("wasmvoice not ready within 60s")
		}
	}
	t.Cleanup(func() {
		if p.killed {
			return // the test killed it and waited for it
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("wasmvoice exited with %v\n%s", err, s.logTail(40))
			}
			// sipgo warns when a connection is released more often than
			// taken: outbound UDP once left from sockets of its own.
			if log, _ := os.ReadFile(s.logPath); bytes.Contains(log, []byte("ref went negative")) {
				t.Errorf("the server's shutdown logged a connection reference going negative:\n%s", s.logTail(20))
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("wasmvoice did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("server log (last lines):\n%s", s.logTail(60))
		}
	})
	return nil
}

func (s *server) logTail(n int) string {
	b, _ := os.ReadFile(s.logPath)
	return lastLines(string(b), n)
}

func (s *server) getToken() string {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.api+"/api/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.id, s.secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := s.do(req, &tok); code != 200 || tok.AccessToken == "" {
		s.t.Fatalf("token: HTTP %d", code)
	}
	return tok.AccessToken
}

// do sends req and decodes its JSON body (an error's too, when it is JSON) into out.
func (s *server) do(req *http.Request, out any) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.t.Logf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
		if out != nil {
			_ = json.Unmarshal(b, out) // an error's body, for the caller to check; not every one is JSON
		}
		return resp.StatusCode
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return resp.StatusCode
}

// call sends a JSON API request with the server's bearer token.
func (s *server) call(method, path string, body, out any) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.api+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	return s.do(req, out)
}

// app creates a voice application and applies patch to it (enabling its
// Inbound SIP URI, typically); it returns the ID and the SIP password (empty
// unless the patch turns password auth on).
func (s *server) app(create, patch map[string]any) (id, password string) {
	s.t.Helper()
	create["applicationName"] = s.t.Name()
	var out struct {
		Data struct {
			ApplicationID   string `json:"applicationId"`
			SIPAuthPassword string `json:"sipAuthPassword"`
			SIPURI          string `json:"sipUri"`
		} `json:"data"`
	}
	base := "/v2/accounts/" + s.account + "/voice-applications"
	if code := s.call("POST", base, create, &out); code != 201 {
		s.t.Fatalf("create application: HTTP %d", code)
	}
	id = out.Data.ApplicationID
	if patch == nil {
		return id, ""
	}
	out.Data.SIPAuthPassword = ""
	if code := s.call("PATCH", base+"/"+id, patch, &out); code != 200 {
		s.t.Fatalf("enable inbound SIP: HTTP %d", code)
	}
	if want := s.sipURI(id); out.Data.SIPURI != want { // a port that is not 5060 is shown
		s.t.Fatalf("sipUri %q, want %q", out.Data.SIPURI, want)
	}
	return id, out.Data.SIPAuthPassword
}

// sipPort is the port of the SIP listener.
func (s *server) sipPort() string {
	_, port, _ := net.SplitHostPort(s.sip)
	return port
}

// sipURI is the application's Inbound SIP URI as the API shows it.
func (s *server) sipURI(appID string) string {
	return "sip:" + appID + "@" + s.domain + ":" + s.sipPort()
}

// traceMessage is one SIP message of a call's trace.
type traceMessage struct {
	Time      string `json:"time"`
	Direction string `json:"direction"` // in or out
	Message   string `json:"message"`
}

// sipTrace returns the SIP trace of a call from the call log API and the
// HTTP status (the log exists once the call has ended).
func (s *server) sipTrace(callID string) ([]traceMessage, int) {
	s.t.Helper()
	var log struct {
		SIPTrace []traceMessage `json:"sipTrace"`
	}
	code := s.call("GET", "/api/v2/accounts/"+s.account+"/calls/"+callID+"/log", nil, &log)
	return log.SIPTrace, code
}

// callTrace returns the SIP trace of a call from the call log API, one
// message after the other, for failure messages.
func (s *server) callTrace(callID string) string {
	s.t.Helper()
	trace, code := s.sipTrace(callID)
	if code != 200 {
		return fmt.Sprintf("(call log of %s: HTTP %d)", callID, code)
	}
	var b strings.Builder
	for _, m := range trace {
		fmt.Fprintf(&b, "--- %s %s\n%s\n", m.Time, m.Direction, strings.TrimRight(m.Message, "\r\n"))
	}
	return b.String()
}

// traceOnFailure prints the call's SIP trace if the test has failed by the
// time it ends. callID is read then, so the test can learn it late.
func (s *server) traceOnFailure(callID *string) {
	s.t.Cleanup(func() {
		if s.t.Failed() && *callID != "" {
			s.t.Logf("SIP trace of call %s:\n%s", *callID, s.callTrace(*callID))
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// metric is the sum of a Prometheus metric's series on /metrics.
func (s *server) metric(name string) float64 {
	s.t.Helper()
	return s.metricWith(name, "")
}

// metricWith is the sum of the series of a metric whose labels contain
// label (name="value"; "" for every series).
func (s *server) metricWith(name, label string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.api + "/metrics")
	if err != nil {
		s.t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("metrics: %v", err)
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == name || strings.HasPrefix(f[0], name+"{")) && strings.Contains(f[0], label) {
			v, _ := strconv.ParseFloat(f[1], 64)
			sum += v
		}
	}
	return sum
}
