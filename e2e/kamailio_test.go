package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// startKamailio runs examples/kamailio/uac-upstream.cfg unchanged in the
// foreground on a free 127.0.0.1 port, with the values the file's header
// says to give on the command line: wasmvoice at upstream (host:port) and
// credential (user:realm:password). It returns the proxy's address once it
// answers SIP.
func startKamailio(t *testing.T, upstream, credential string) string {
	t.Helper()
	cfg, err := filepath.Abs(filepath.Join("..", "examples", "kamailio", "uac-upstream.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return runKamailio(t, cfg, `UPSTREAM="sip:`+upstream+`"`, `CREDENTIAL="`+credential+`"`, "CLIENTS=127.0.0.0/8")
}

// runKamailio runs Kamailio with cfg in the foreground, listening on UDP on
// a free 127.0.0.1 port (the #!define LISTEN) with the other defines given
// (NAME=value); it returns the address once Kamailio answers OPTIONS.
func runKamailio(t *testing.T, cfg string, defines ...string) string {
	t.Helper()
	return runKamailioAt(t, "127.0.0.1", cfg, defines...)
}

// runKamailioAt is runKamailio on another loopback address (ip).
func runKamailioAt(t *testing.T, ip, cfg string, defines ...string) string {
	t.Helper()
	bin := testenv.LookTool(t, "kamailio")
	dir := t.TempDir()
	var log bytes.Buffer
	var mu sync.Mutex
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kamailio log (last lines):\n%s", lastLines(output(), 60))
		}
	})
	var addr string
	var probe net.Conn
	defer func() {
		if probe != nil {
			probe.Close()
		}
	}()
	startPeer(t, "kamailio", func() *exec.Cmd {
		addr = net.JoinHostPort(ip, strconv.Itoa(testenv.FreeUDPPort(t)))
		mu.Lock()
		log.Reset()
		mu.Unlock()
		// -DD: no daemon, but the usual worker processes; -E: log to
		// stderr; -P and -Y: a pid file and runtime directory of its own.
		args := []string{"-DD", "-E", "-f", cfg, "-P", filepath.Join(dir, "kamailio.pid"), "-Y", dir, "-A", "LISTEN=udp:" + addr}
		for _, d := range defines {
			args = append(args, "-A", d)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &lockedWriter{b: &log, mu: &mu}, &lockedWriter{b: &log, mu: &mu}
		if probe != nil {
			probe.Close()
			probe = nil
		}
		return cmd
	}, func() bool {
		if probe == nil {
			var err error
			if probe, err = net.Dial("udp", addr); err != nil {
				t.Fatal(err)
			}
		}
		return optionsAnswered(probe)
	}, output)
	return addr
}

// optionsAnswered sends one OPTIONS on c and reports whether an answer came
// (uac-upstream.cfg answers 405: it relays calls only).
func optionsAnswered(c net.Conn) bool {
	local, remote := c.LocalAddr().String(), c.RemoteAddr().String()
	branch := strconv.FormatInt(time.Now().UnixNano(), 36)
	fmt.Fprintf(c, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:probe@%s>;tag=probe\r\nTo: <sip:%s>\r\nCall-ID: %s@%s\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", remote, local, branch, local, remote, branch, local)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ")
}

// proxiedBaresip starts baresip with the recipe's account, less its
// password, sending everything through the proxy. As in TestSoftphones it
// names the server by address (baresip 1.x has no /etc/hosts). It returns
// the phone and the URI to dial.
func proxiedBaresip(t *testing.T, s *server, appID, proxy string) (*baresip, string) {
	t.Helper()
	v := recipeValues{appID: appID, domain: "127.0.0.1", port: s.sipPort()}
	raw := recipeText(t, "softphones/baresip/accounts")
	if !strings.Contains(raw, ";auth_pass=SIP_PASSWORD") {
		t.Fatalf("the baresip recipe's account has no ;auth_pass=SIP_PASSWORD to leave out:\n%s", raw)
	}
	var account []string
	for _, line := range strings.Split(fillRecipe(strings.Replace(raw, ";auth_pass=SIP_PASSWORD", "", 1), v), "\n") {
		if strings.HasPrefix(line, "<sip:") {
			line += `;outbound="sip:` + proxy + `"`
		}
		account = append(account, line)
	}
	return startBaresip(t, strings.Join(account, "\n")), "sip:" + appID + "@" + v.domain + ":" + v.port
}

// A phone that holds no credentials calls through Kamailio as an upstream
// proxy (examples/kamailio/uac-upstream.cfg), which answers the server's
// 407 with the application's credentials (uac_auth). The server runs with
// its default flags. The call connects, the phone hears the prompt and its
// keys are gathered, and the BYE of either side crosses the proxy (Record-
// Route) to the other. With a wrong password the server's 401 reaches the
// phone: the proxy does not try again.
func TestKamailioUpstreamUAC(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	testenv.LookTool(t, "kamailio")
	for _, by := range []hangupBy{byPhone, byServer} {
		t.Run(string(by)+"_hangs_up", func(t *testing.T) {
			s := startDefaultServer(t)
			var proxy string
			callID := softphoneCall(t, s, by, func(appID, password string) (softphone, string) {
				proxy = startKamailio(t, s.sip, appID+":"+s.domain+":"+password)
				return proxiedBaresip(t, s, appID, proxy)
			})
			// The INVITE the server took (the last one: the trace starts
			// with the challenged INVITE) came through the proxy, with the
			// credentials the proxy added.
			trace, _ := s.sipTrace(callID)
			var invite string
			for _, m := range trace {
				if m.Direction == "in" && strings.HasPrefix(m.Message, "INVITE ") {
					invite = m.Message
				}
			}
			if !strings.Contains(invite, "Via: SIP/2.0/UDP "+proxy) || !strings.Contains(invite, "Proxy-Authorization: Digest") {
				t.Errorf("the call's INVITE did not come through the proxy with its credentials:\n%s", invite)
			}
		})
	}
	t.Run("wrong_password", func(t *testing.T) {
		s := startDefaultServer(t)
		hook := newHook(t, func(string, map[string]any) string { return `<Response><Hangup/></Response>` })
		appID, _ := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate")},
			map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
		proxy := startKamailio(t, s.sip, appID+":"+s.domain+":not-the-password")
		phone, uri := proxiedBaresip(t, s, appID, proxy)
		phone.dial(uri)
		closed, ok := phone.waitEvent("CALL_CLOSED", 20*time.Second)
		if !ok {
			t.Fatal("the phone's call did not end")
		}
		if reason, _ := closed["param"].(string); !strings.Contains(reason, "401") {
			t.Errorf("the call ended with %q, want the server's 401", reason)
		}
		if types := hook.types(); len(types) != 0 {
			t.Errorf("callbacks %v for a refused call", types)
		}
	})
}
