package sip

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// scenarioData fills the Go templates of testdata/*.xml.
type scenarioData struct {
	Expect      int
	ToUser      string
	MaxForwards int
	ExtraVia    string
	Auth        string // a Proxy-Authorization value
}

// renderScenario writes testdata/name filled with d into dir.
func renderScenario(t testing.TB, dir, name string, d scenarioData) string {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, strings.TrimSuffix(name, ".xml")+"-run.xml")
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// runSipp runs one sipp call of scenario against target and fails the test
// with sipp's own error log when the call does not pass.
func runSipp(t *testing.T, scenario, transport, target string, args ...string) {
	t.Helper()
	sipp := testenv.LookTool(t, "sipp")
	dir := filepath.Dir(scenario)
	errFile := filepath.Join(dir, "errors.log")
	base := []string{"-sf", scenario, "-m", "1", "-l", "1", "-t", transport,
		"-i", "127.0.0.1", "-nostdin", "-timeout", "20s", "-timeout_error",
		"-trace_err", "-error_file", errFile, "-cp", "0"}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, append(append(base, args...), target)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		errLog, _ := os.ReadFile(errFile)
		t.Fatalf("sipp %s failed: %v\n--- sipp errors ---\n%s\n--- sipp output (tail) ---\n%s", filepath.Base(scenario), err, errLog, tail(out, 3000))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestSippFrontDoor drives every answer of the Inbound SIP URI guide with
// sipp, over UDP and TCP, against a real listener.
func TestSippFrontDoor(t *testing.T) {
	testenv.LookTool(t, "sipp")
	env := newSippEnv(t)
	_, udpPort, _ := strings.Cut(env.udp, ":")
	_, tcpPort, _ := strings.Cut(env.tcp, ":")

	type tc struct {
		name     string
		file     string
		data     scenarioData
		app      string
		password string
		accepted bool // a call reaches the engine
		replay   bool // precompute credentials for the replay scenario
	}
	cases := []tc{
		{name: "options_200_keepalive", file: "options.xml"},
		{name: "register_405", file: "register.xml", app: appPassword},
		{name: "digest_accepted", file: "auth.xml", data: scenarioData{Expect: 200}, app: appPassword, password: testPassword, accepted: true},
		{name: "wrong_password_401", file: "auth.xml", data: scenarioData{Expect: 401}, app: appPassword, password: "not-the-password"},
		{name: "user_mismatch_403", file: "auth.xml", data: scenarioData{Expect: 403, ToUser: "someone-else"}, app: appPassword, password: testPassword},
		{name: "nonce_replay_refused", file: "replay.xml", app: appPassword, accepted: true, replay: true},
		{name: "unknown_application_401", file: "reject.xml", data: scenarioData{Expect: 401}, app: "0b7c1f6e-0000-0000-0000-00000000dead"},
		{name: "disabled_application_401", file: "reject.xml", data: scenarioData{Expect: 401}, app: appDisabled},
		{name: "source_ip_401", file: "reject.xml", data: scenarioData{Expect: 401}, app: appBadIP},
		{name: "region_401", file: "reject.xml", data: scenarioData{Expect: 401}, app: appEU},
		{name: "ip_only_user_mismatch_403", file: "reject.xml", data: scenarioData{Expect: 403, ToUser: "someone-else"}, app: appIPOnly},
		{name: "max_forwards_0_483", file: "reject.xml", data: scenarioData{Expect: 483, MaxForwards: 0}, app: appPassword},
		{name: "loop_482", file: "reject.xml", data: scenarioData{Expect: 482, ExtraVia: "Via: SIP/2.0/UDP 127.0.0.1:{{PORT}};branch=z9hG4bK-looped"}, app: appPassword},
	}
	for _, transport := range []struct{ name, flag, addr, port string }{
		{"udp", "u1", env.udp, udpPort},
		{"tcp", "t1", env.tcp, tcpPort},
	} {
		for _, c := range cases {
			t.Run(transport.name+"/"+c.name, func(t *testing.T) {
				d := c.data
				if d.ToUser == "" {
					d.ToUser = c.app
				}
				if d.MaxForwards == 0 && d.Expect != 483 {
					d.MaxForwards = 70
				}
				d.ExtraVia = strings.ReplaceAll(d.ExtraVia, "{{PORT}}", transport.port)
				if c.replay {
					d.Auth = testCredentials(env.srv, "INVITE", "sip:"+c.app+"@"+transport.addr, c.app, testPassword, "SHA-256", 1)
				}
				for len(env.engine.calls) > 0 {
					<-env.engine.calls
				}
				scenario := renderScenario(t, t.TempDir(), c.file, d)
				args := []string{}
				if c.app != "" {
					args = append(args, "-s", c.app, "-au", c.app)
				}
				if c.password != "" {
					args = append(args, "-ap", c.password)
				}
				runSipp(t, scenario, transport.flag, transport.addr, args...)
				if c.accepted {
					call := env.engine.waitCall(t)
					if call.Application.ID != c.app {
						t.Fatalf("engine got application %q", call.Application.ID)
					}
					waitDone(t, call.Done(), "call")
					if r := call.EndReason(); r != EndRemoteBye {
						t.Fatalf("end reason %q, want %q", r, EndRemoteBye)
					}
					if c.file == "auth.xml" && (len(call.XHeaders) != 1 || call.XHeaders[0].Name != "X-Tenant" || call.Request.GetHeader("X-Tenant") != nil) {
						t.Fatalf("X-* headers: kept %v, request still has X-Tenant: %v", call.XHeaders, call.Request.GetHeader("X-Tenant") != nil)
					}
					if !strings.EqualFold(call.Transport, transport.name) {
						t.Fatalf("transport %q", call.Transport)
					}
				}
			})
		}
	}
	if t.Failed() {
		return
	}
	// Every refusal above shows in the metrics by reason.
	for _, reason := range []string{reasonNoCredentials, reasonBadCredentials, reasonUserMismatch, reasonUnknownApp,
		reasonInboundDisabled, reasonSourceIP, reasonRegion, reasonTooManyHops, reasonLoop, reasonNonceReplay, reasonMethodNotAllowed} {
		if v := counterValue(t, metricRejections.WithLabelValues(reason)); v < 2 {
			t.Errorf("rejections{reason=%q} = %v, want >= 2", reason, v)
		}
	}
}
