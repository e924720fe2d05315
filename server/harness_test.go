package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// node is a whole wasmvoice server running in the test process.
type node struct {
	srv    *Server
	api    string // http://127.0.0.1:port
	sip    string // 127.0.0.1:port (UDP and TCP)
	creds  store.Credentials
	token  string
	cancel context.CancelFunc
	done   chan error
	// stopOnce: stop runs once, from the test or its cleanup.
	stopOnce sync.Once
}

// stop stops the node and waits for it (once; the test's cleanup calls it
// too).
func (n *node) stop(t *testing.T) {
	n.stopOnce.Do(func() {
		n.cancel()
		select {
		case err := <-n.done:
			if err != nil {
				t.Errorf("node stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("node did not stop within 20 s")
			<-n.done // it still must not outlive the test
		}
	})
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("WASMVOICE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Test RTP ranges stay out of the kernel's ephemeral range (32768-60999),
// where other processes' client sockets land, and apart per package: media
// 10000-29999, e2e 30000-32767, calls 61000-61999, this package 62000-65399.
var portBase = struct {
	sync.Mutex
	next int
}{next: 62000}

// rtpPorts hands each node its own RTP ports, so parallel nodes never
// collide. The ranges wrap around (-count=3 starts more nodes than fit), by
// when the node that had a range has stopped.
func rtpPorts() (lo, hi int) {
	portBase.Lock()
	defer portBase.Unlock()
	if portBase.next+200 > 65400 {
		portBase.next = 62000
	}
	lo = portBase.next
	portBase.next += 200
	return lo, lo + 198
}

func rtpRange() string {
	lo, hi := rtpPorts()
	return fmt.Sprintf("%d-%d", lo, hi)
}

func startNode(t *testing.T, mods ...func(*Config)) *node {
	t.Helper()
	return startNodeOf(t, "", mods...)
}

// startNodeOf starts a node on a data directory a node of accountID used
// before (mods set DataDir): with a new API client of that account.
func startNodeOf(t *testing.T, accountID string, mods ...func(*Config)) *node {
	t.Helper()
	cfg := Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", SIPDomain: "127.0.0.1",
		Region: "US", MediaIP: "127.0.0.1", RTPPorts: rtpRange(), DigestAlgorithms: []string{"MD5", "SHA-256"},
		Logger: testLogger(t),
	}
	cfg.DatabaseURL = testenv.StoreURL(t) // WASMVOICE_TEST_STORE=postgres: the node on PostgreSQL
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	n := &node{srv: srv, cancel: cancel, done: make(chan error, 1)}
	if srv.FirstCredentials != nil {
		n.creds = *srv.FirstCredentials
	} else if n.creds, err = srv.Store().CreateClient(ctx, accountID); err != nil {
		cancel()
		t.Fatalf("API client of account %q on a used data directory: %v", accountID, err)
	}
	addrc := make(chan net.Addr, 1)
	go func() { n.done <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	select {
	case a := <-addrc:
		n.api = "http://" + a.String()
	case err := <-n.done:
		t.Fatalf("node did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("node did not start")
	}
	for _, l := range srv.SIPListeners() {
		if l.Network == "udp" {
			n.sip = l.Addr
		}
	}
	t.Cleanup(func() { n.stop(t) })
	n.token = n.getToken(t)
	return n
}

func (n *node) getToken(t *testing.T) string {
	req, _ := http.NewRequest("POST", n.api+"/api/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(n.creds.ClientID, n.creds.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := doJSON(t, req, &tok); code != 200 {
		t.Fatalf("token: %d", code)
	}
	return tok.AccessToken
}

func doJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// call sends a JSON API request with the node's token.
func (n *node) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, n.api+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.token)
	return doJSON(t, req, out)
}

// app creates a voice application through the API and returns its ID and
// SIP password (when password auth is on).
func (n *node) app(t *testing.T, fields map[string]any) (id, password string) {
	t.Helper()
	fields["applicationName"] = "test"
	var out struct {
		Data struct {
			ApplicationID   string `json:"applicationId"`
			SIPAuthPassword string `json:"sipAuthPassword"`
		} `json:"data"`
	}
	if code := n.call(t, "POST", "/v2/accounts/"+n.creds.AccountID+"/voice-applications", fields, &out); code != 201 {
		t.Fatalf("create application: %d", code)
	}
	return out.Data.ApplicationID, out.Data.SIPAuthPassword
}

// hook is an application's webhook backend: it records every callback and
// answers with what the test's handler returns.
type hook struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	events []event
	notify chan event
	answer func(ev event) string
}

type event struct {
	Method string
	Path   string
	Type   string
	Body   map[string]any
	Raw    []byte
	Auth   string
}

func newHook(t *testing.T, answer func(ev event) string) *hook {
	h := &hook{t: t, notify: make(chan event, 100), answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		ev := event{Method: r.Method, Path: r.URL.Path, Raw: raw, Auth: r.Header.Get("Authorization")}
		if r.Method == http.MethodGet {
			ev.Body = map[string]any{}
			for k, v := range r.URL.Query() {
				ev.Body[k] = v[0]
			}
		} else if err := json.Unmarshal(raw, &ev.Body); err != nil {
			t.Errorf("callback body is not JSON: %v: %s", err, raw)
		}
		ev.Type, _ = ev.Body["eventType"].(string)
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		select {
		case h.notify <- ev:
		default:
		}
		reply := ""
		if h.answer != nil {
			reply = h.answer(ev)
		}
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, reply)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url(path string) string { return h.srv.URL + path }

// wait returns the next callback of the given type, or fails the test.
func (h *hook) wait(eventType string, timeout time.Duration) event {
	h.t.Helper()
	deadline := time.After(timeout)
	h.mu.Lock()
	for _, ev := range h.events {
		if ev.Type == eventType {
			h.mu.Unlock()
			return ev
		}
	}
	h.mu.Unlock()
	for {
		select {
		case ev := <-h.notify:
			if ev.Type == eventType {
				return ev
			}
		case <-deadline:
			h.t.Fatalf("no %s callback within %s; got %v", eventType, timeout, h.types())
			return event{}
		}
	}
}

// within returns the first callback of the given type if one came, waiting
// up to d for it.
func (h *hook) within(eventType string, d time.Duration) (event, bool) {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Type == eventType {
				h.mu.Unlock()
				return ev, true
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			return event{}, false
		}
	}
}

func (h *hook) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e.Type)
	}
	return out
}

// callbackSchemas are the spec's callback schemas by eventType.
var callbackSchemas = sync.OnceValues(func() (map[string]*base.Schema, error) {
	m, err := specModel()
	if err != nil {
		return nil, err
	}
	names := map[string]string{
		"initiate": "initiateCallback", "answer": "answerCallback", "gather": "gatherCallback", "dtmf": "dtmfCallback",
		"disconnect": "disconnectCallback", "redirect": "redirectCallback", "recordComplete": "recordingCompleteCallback",
		"recordingAvailable": "recordingAvailableCallback", "transferAnswer": "transferAnswerCallback",
		"transferComplete": "transferCompleteCallback", "transferDisconnect": "transferDisconnectCallback",
		"bridgeComplete": "bridgeCompleteCallback", "bridgeTargetComplete": "bridgeTargetCompleteCallback",
		"machineDetectionComplete": "machineDetectionCompleteCallback",
		"transcriptionAvailable":   "transcriptionAvailableCallback",
		"conferenceCreated":        "conferenceCreatedCallback", "conferenceMemberJoin": "conferenceMemberJoinCallback",
		"conferenceMemberExit": "conferenceMemberExitCallback", "conferenceCompleted": "conferenceCompletedCallback",
		"conferenceRedirect": "conferenceRedirectCallback", "conferenceRecordingAvailable": "conferenceRecordingAvailableCallback",
	}
	out := map[string]*base.Schema{}
	for ev, name := range names {
		sp, ok := m.Model.Components.Schemas.Get(name)
		if !ok {
			return nil, fmt.Errorf("spec has no schema %s", name)
		}
		out[ev] = sp.Schema()
	}
	return out, nil
})

// checkSchema validates a callback body against the spec's schema for its
// eventType, and checks it names no field the schema does not have.
func checkSchema(t *testing.T, ev event) {
	t.Helper()
	schemas, err := callbackSchemas()
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("callback schemas: %v", err)
		}
		t.Skipf("callback schemas: %v", err)
	}
	sc, ok := schemas[ev.Type]
	if !ok {
		t.Fatalf("no schema for event %q", ev.Type)
	}
	if ev.Method == http.MethodPost {
		checkBody(t, ev.Type+" callback", sc, ev.Raw)
	}
	checkFields(t, ev.Type+" callback", sc, ev.Body)
}

// specModel is the Voice API spec the callbacks and responses must match.
var specModel = sync.OnceValues(func() (*libopenapi.DocumentModel[v3.Document], error) {
	b, err := os.ReadFile("../reference/bandwidth-voice-api.yml")
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		return nil, err
	}
	return doc.BuildV3Model()
})

// specSchema is the spec's component schema name; a spec that cannot be
// read skips the test locally and fails it in CI, as checkSchema does.
func specSchema(t *testing.T, name string) *base.Schema {
	t.Helper()
	m, err := specModel()
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("spec: %v", err)
		}
		t.Skipf("spec: %v", err)
	}
	sp, ok := m.Model.Components.Schemas.Get(name)
	if !ok {
		t.Fatalf("spec has no schema %s", name)
	}
	return sp.Schema()
}

// checkBody validates a JSON body against a schema of the spec.
func checkBody(t *testing.T, what string, sc *base.Schema, raw []byte) {
	t.Helper()
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytesWithVersion(sc, raw, 3.0); !ok {
		for _, e := range errs {
			t.Errorf("%s does not match its schema: %s (%s)", what, e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// checkFields checks that body names no field the schema does not define.
func checkFields(t *testing.T, what string, sc *base.Schema, body map[string]any) {
	t.Helper()
	for k := range body {
		if _, ok := sc.Properties.Get(k); !ok {
			t.Errorf("%s has field %q, which the spec does not define", what, k)
		}
	}
}

// sipp runs a sipp scenario from testdata/sipp and returns its combined output.
type sippRun struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	err chan error
}

func startSipp(t *testing.T, scenario string, args ...string) *sippRun {
	t.Helper()
	bin := testenv.LookTool(t, "sipp")
	dir := t.TempDir()
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-sf", sf, "-m", "1", "-nostdin",
		"-timeout", "40s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "err.log"),
		"-buff_size", "4194304", "-i", "127.0.0.1"}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Dir = dir
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &sippRun{cmd: cmd, out: out, err: make(chan error, 1)}
	go func() { r.err <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.err
	})
	return r
}

// waitSippUDP waits until the sipp UAS on port answers an OPTIONS: sipp
// takes a moment to start (longer on a loaded machine), and what is sent to
// it before is lost. The OPTIONS is one of the scenario's calls.
func waitSippUDP(t *testing.T, port int) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	buf := make([]byte, 65535)
	for try := 0; try < 50; try++ {
		msg := fmt.Sprintf("OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ready%d\r\n"+
			"From: <sip:harness@127.0.0.1>;tag=r%d\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: sipp-ready-%d\r\n"+
			"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", port, c.LocalAddr(), try, try, try)
		if _, err := c.WriteToUDP([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, _, err := c.ReadFromUDP(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			return
		}
	}
	t.Fatalf("sipp on port %d never answered (was the port taken?)", port)
}

// wait waits for sipp to exit 0, printing its error log otherwise.
func (r *sippRun) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-r.err:
		r.err <- err
		if err != nil {
			errLog, _ := os.ReadFile(filepath.Join(r.cmd.Dir, "err.log"))
			t.Fatalf("sipp %v: %v\n%s\n%s", r.cmd.Args[2], err, lastLines(r.out.String(), 30), errLog)
		}
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		t.Fatalf("sipp %v did not finish in %s", r.cmd.Args[2], timeout)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
