package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// Internet-facing hardening, against the real binary: what a stranger sends
// must not stop the node, steal audio or crowd out real calls.

// procStatus reads a field (in KiB) of /proc/<pid>/status.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func openFDs(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

// shortCallApp is an application with digest auth whose calls hold until
// the caller hangs up.
func shortCallApp(t *testing.T, s *server, bxml string) (appID, password string, h *hook) {
	t.Helper()
	h = newHook(t, func(path string, _ map[string]any) string {
		if path == "/initiate" {
			return bxml
		}
		return ""
	})
	appID, password = s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	return appID, password, h
}

// More idle TCP connections than the node's file-descriptor limit neither
// stop it nor keep a real call out: past the caps they are closed at once.
func TestIdleConnectionsPastFDLimit(t *testing.T) {
	prlimit := testenv.LookTool(t, "prlimit")
	const limit = 256
	s := startWrapped(t, []string{prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit)})
	appID, pw, _ := shortCallApp(t, s, `<Response><Pause duration="5"/></Response>`)
	rss0 := procStatus(t, s.pid(), "VmRSS")

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	closedByNode := 0
	for i := range 2 * limit {
		src := net.IPv4(127, 0, 0, byte(1+i%2)) // two sources
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", s.sip)
		if err != nil {
			continue // the backlog is full: the kernel holds the rest
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closedByNode++
		}
	}
	fds := openFDs(s.pid())
	rss1 := procStatus(t, s.pid(), "VmRSS")
	t.Logf("%d idle connections opened, %d closed by the node at once; node: %d fds (limit %d), RSS %d -> %d KiB",
		len(conns), closedByNode, fds, limit, rss0, rss1)
	if fds >= limit {
		t.Fatalf("the node holds %d descriptors, its limit is %d", fds, limit)
	}
	resp, err := http.Get(s.api + "/readyz")
	if err != nil {
		t.Fatalf("node unreachable during the connection flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz %d during the connection flood", resp.StatusCode)
	}
	uac := startSipp(t, "short_call.xml", scenario{HoldMillis: 500}, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 30*time.Second)
}

// One source flooding the SIP port is banned within 2 s; a second source's
// calls go on (at least 99% complete); what the flood makes the node log at
// info level stays bounded (sampled, truncated refusal lines).
func TestFloodBannedWhileCallsSucceed(t *testing.T) {
	s := startServer(t, "--log-level", "info")
	appID, pw, _ := shortCallApp(t, s, `<Response><Pause duration="5"/></Response>`)
	const calls = 100
	uac := startSipp(t, "short_call.xml", scenario{HoldMillis: 200}, s.sip,
		append([]string{"-s", appID, "-au", appID, "-ap", pw, "-m", strconv.Itoa(calls), "-r", "20", "-l", "50"}, statsArgs()...)...)

	flooder, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer flooder.Close()
	target, _ := net.ResolveUDPAddr("udp4", s.sip)
	var sent, sentBytes atomic.Int64
	start := time.Now()
	flooded := testenv.Go(t, func(ctx context.Context) error {
		for i := 0; i < 300_000 && time.Since(start) < 4*time.Second && ctx.Err() == nil; i++ {
			method := [...]string{"OPTIONS", "INVITE", "REGISTER"}[i%3]
			msg := fmt.Sprintf("%s sip:%s@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:%d;branch=z9hG4bK-flood%d\r\n"+
				"From: <sip:f@127.0.0.2>;tag=%d\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: flood-%d\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				method, appID, flooder.LocalAddr().(*net.UDPAddr).Port, i, i, appID, i, method)
			if _, err := flooder.WriteToUDP([]byte(msg), target); err == nil {
				sent.Add(1)
				sentBytes.Add(int64(len(msg)))
			}
		}
		return nil
	})
	var bannedAfter time.Duration
	for bannedAfter == 0 && time.Since(start) < 10*time.Second {
		var list struct {
			Bans []struct {
				Address string    `json:"address"`
				Zone    string    `json:"zone"`
				Since   time.Time `json:"since"`
			} `json:"bans"`
		}
		if code := s.call("GET", "/api/v1/bans", nil, &list); code != 200 {
			t.Fatalf("list bans: %d", code)
		}
		for _, b := range list.Bans {
			// The node's own time of the ban: this loop's polling on a
			// loaded machine is no part of how fast the ban came.
			if b.Address == "127.0.0.2" && b.Zone == "sip" {
				bannedAfter = max(b.Since.Sub(start), time.Nanosecond)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	<-flooded
	ok, failed := uac.runStats(t, 60*time.Second)
	t.Logf("flood: %d OPTIONS, INVITE and REGISTER in %v from 127.0.0.2, banned after %v; calls from 127.0.0.1: %d ok, %d failed",
		sent.Load(), time.Since(start).Round(time.Millisecond), bannedAfter, ok, failed)
	if bannedAfter == 0 || bannedAfter > 2*time.Second {
		t.Errorf("the flooding source was banned after %v, want within 2 s", bannedAfter)
	}
	if ok+failed != calls || ok*100 < calls*99 {
		t.Errorf("%d of %d calls completed during the flood (%d failed), want at least 99%%", ok, calls, failed)
	}
	logged := 0
	for _, line := range strings.SplitAfter(readLog(t, s), "\n") {
		if strings.Contains(line, "127.0.0.2") {
			logged += len(line)
		}
	}
	t.Logf("log: %d bytes about the flooder for %d bytes sent (%.6f log bytes per attacker byte)",
		logged, sentBytes.Load(), float64(logged)/float64(max(1, sentBytes.Load())))
	// The refusal log is sampled (20 lines a second at most) and truncated;
	// a banned source is not logged at all.
	if logged > 256<<10 {
		t.Errorf("%d log bytes about the flooder, want at most 256 KiB", logged)
	}
}

// An application at its maxConcurrentCalls refuses the next INVITE with 503
// and Retry-After, and createCall with 429; once its calls end it takes
// calls again.
func TestCallCapOverTheWire(t *testing.T) {
	s := startServer(t)
	h := newHook(t, func(path string, _ map[string]any) string {
		if path == "/initiate" {
			return `<Response><Pause duration="30"/></Response>`
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status"), "maxConcurrentCalls": 2},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	held := startSipp(t, "short_call.xml", scenario{HoldMillis: 4000}, s.sip, "-s", appID, "-au", appID, "-ap", pw, "-m", "2", "-l", "2")
	deadline := time.Now().Add(30 * time.Second)
	for s.metric("wasmvoice_calls_live") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the two held calls did not come up: %s", s.logTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	startSipp(t, "auth_reject.xml", scenario{Expect: 503, ToUser: appID, Header: "Retry-After"}, s.sip,
		"-s", appID, "-au", appID, "-ap", pw).wait(t, 30*time.Second)
	var problem map[string]any
	body := map[string]any{"from": "+15550001111", "to": "sip:nobody@127.0.0.1:9", "applicationId": appID, "answerUrl": h.url("/answer")}
	if code := s.call("POST", "/api/v2/accounts/"+s.account+"/calls", body, &problem); code != 429 {
		t.Errorf("createCall at the cap: HTTP %d %v, want 429", code, problem)
	}
	held.wait(t, 30*time.Second)
	startSipp(t, "short_call.xml", scenario{HoldMillis: 200}, s.sip, "-s", appID, "-au", appID, "-ap", pw).wait(t, 30*time.Second)
}

// A node run with its defaults will not present a number the account has
// not verified as caller ID to a carrier: createCall to a phone number from
// it is a 400 naming from. (Calls to SIP URIs from it, which go to that
// peer directly, are placed: TestOutboundLeavesFromTheSIPPort and others make them.)
func TestUnverifiedCallerIDRefusedByDefault(t *testing.T) {
	s := startServer(t)
	h := newHook(t, func(string, map[string]any) string { return `<Response><Hangup/></Response>` })
	appID, _ := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")}, nil)
	const to = "+14155550100"
	if code := s.call("POST", "/v1/sip/attach", map[string]any{"phone_number": to, "service": "sip", "directions": []any{
		map[string]any{"type": "outbound", "sip_endpoint": "sip:carrier@127.0.0.1:9"}}}, nil); code != 200 {
		t.Fatalf("attach %s: HTTP %d", to, code)
	}
	var out map[string]any
	body := map[string]any{"from": "+15550001111", "to": to, "applicationId": appID, "answerUrl": h.url("/answer")}
	if code := s.call("POST", "/api/v2/accounts/"+s.account+"/calls", body, &out); code != 400 || !strings.Contains(fmt.Sprint(out), "not verified") {
		t.Errorf("createCall to a phone number from an unverified number: HTTP %d %v, want 400 not verified", code, out)
	}
	// The same number as a SIP URI's user part is what the carrier sees too.
	body["from"] = "sip:+15550001111@example.com"
	if code := s.call("POST", "/api/v2/accounts/"+s.account+"/calls", body, &out); code != 400 || !strings.Contains(fmt.Sprint(out), "not verified") {
		t.Errorf("createCall to a phone number from an unverified number in a SIP URI: HTTP %d %v, want 400 not verified", code, out)
	}
}

// A sprayer sending to every RTP port of the node before and during a
// call receives none of the call's audio.
func TestRTPSprayerGetsNothing(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	s := startServer(t)
	appID, pw, _ := shortCallApp(t, s, `<Response><SpeakSentence>This is the audio a sprayer must never hear, however hard it tries.</SpeakSentence><Pause duration="2"/></Response>`)
	spray, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer spray.Close()
	lo, hi, _ := strings.Cut(s.rtp, "-")
	first, _ := strconv.Atoi(lo)
	last, _ := strconv.Atoi(hi)
	var got atomic.Int64
	received := testenv.Go(t, func(ctx context.Context) error {
		buf := make([]byte, 2000)
		for ctx.Err() == nil {
			spray.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, _, err := spray.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if err == nil {
				got.Add(1)
			}
		}
		return nil
	})
	sprayed := testenv.Go(t, func(ctx context.Context) error {
		pkt := append([]byte{0x80, 0x00, 0, 0, 0, 0, 0, 0, 0xba, 0xdb, 0xad, 0x00}, make([]byte, 160)...)
		for round := 0; round < 600 && ctx.Err() == nil; round++ { // at most 12 s
			for p := first; p <= last; p += 2 {
				if _, err := spray.WriteToUDP(pkt, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}); errors.Is(err, net.ErrClosed) {
					return nil
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // the spray is on before the call
	uac := startSipp(t, "short_call.xml", scenario{HoldMillis: 4000}, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 40*time.Second)
	time.Sleep(300 * time.Millisecond)
	spray.Close()
	<-received
	<-sprayed
	if n := got.Load(); n != 0 {
		t.Fatalf("the sprayer received %d packets", n)
	}
}

// An INVITE carrying 10 Record-Routes and 8 more Vias is answered over UDP:
// the 407 and the 200 are larger than one MTU.
func TestLargeMessagesOverUDP(t *testing.T) {
	s := startServer(t)
	appID, pw, _ := shortCallApp(t, s, `<Response><Pause duration="5"/></Response>`)
	var extra strings.Builder
	for i := range 8 {
		fmt.Fprintf(&extra, "      Via: SIP/2.0/UDP proxy%d.example.net:5060;branch=z9hG4bK-hop%d-a-longer-branch-to-fill-the-line\n", i, i)
	}
	for i := range 10 {
		fmt.Fprintf(&extra, "      Record-Route: <sip:edge%d.proxy.example.net:5060;lr;ftag=abcdef0123456789;did=a9b.4c2d01%d>\n", i, i)
	}
	uac := startSipp(t, "short_call.xml", scenario{HoldMillis: 200, Extra: extra.String()}, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 30*time.Second)
}

// kill -9 with calls and recordings up, then a restart: every call is
// stored as ended with cause error and gets its disconnect callback, every
// recording is repaired, indexed and playable.
func TestCrashRecovery(t *testing.T) {
	s := startServer(t)
	appID, pw, h := shortCallApp(t, s, `<Response><StartRecording/><Pause duration="60"/></Response>`)
	const calls = 50
	uac := startSipp(t, "short_call.xml", scenario{HoldMillis: 60000}, s.sip,
		"-s", appID, "-au", appID, "-ap", pw, "-m", strconv.Itoa(calls), "-r", "25", "-l", strconv.Itoa(calls))
	for deadline := time.Now().Add(30 * time.Second); len(h.all("initiate")) < calls; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls up", len(h.all("initiate")), calls)
		}
	}
	time.Sleep(time.Second) // audio into the recordings
	s.kill9()
	uac.cmd.Process.Kill()
	began := time.Now()
	s.restart()
	ready := time.Since(began)

	var disc []map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if disc = h.all("disconnect"); len(disc) >= calls || time.Now().After(deadline) {
			break
		}
	}
	if len(disc) != calls {
		t.Fatalf("%d disconnect callbacks after the restart, want %d", len(disc), calls)
	}
	for _, d := range disc {
		if d["cause"] != "error" || !strings.Contains(fmt.Sprint(d["errorMessage"]), "node stopped") {
			t.Fatalf("disconnect %v", d)
		}
	}
	var list []struct {
		CallID          string `json:"callId"`
		State           string `json:"state"`
		DisconnectCause string `json:"disconnectCause"`
	}
	if code := s.call("GET", "/api/v2/accounts/"+s.account+"/calls?pageSize=1000", nil, &list); code != 200 || len(list) != calls {
		t.Fatalf("listCalls: %d, %d calls", code, len(list))
	}
	playable := 0
	for _, c := range list {
		if c.State != "disconnected" || c.DisconnectCause != "error" {
			t.Fatalf("call %+v", c)
		}
		var recs []struct {
			MediaURL string `json:"mediaUrl"`
		}
		if code := s.call("GET", "/api/v2/accounts/"+s.account+"/calls/"+c.CallID+"/recordings", nil, &recs); code != 200 || len(recs) != 1 {
			t.Fatalf("recordings of %s: %d, %d", c.CallID, code, len(recs))
		}
		req, _ := http.NewRequest("GET", recs[0].MediaURL, nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a, err := wav.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("recording of %s does not decode: %v", c.CallID, err)
		}
		if len(a.Samples) > 0 {
			playable++
		}
	}
	if playable != calls {
		t.Errorf("%d of %d recordings hold audio", playable, calls)
	}
	t.Logf("restart to ready after kill -9 with %d calls and recordings up: %v (%d recordings with audio)", calls, ready, playable)
	if log := readLog(t, s); !strings.Contains(log, "reconciled what a crash interrupted") {
		t.Errorf("no reconciliation in the log")
	}
}

func readLog(t *testing.T, s *server) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A junk module (a valid header, then zeros) is refused without the memory
// it would have cost to decode; a real module costs a bounded amount.
func TestModuleUploadMemory(t *testing.T) {
	s := startServer(t)
	pid := s.pid()
	upload := func(body []byte) (int, int64) {
		before := procStatus(t, pid, "VmHWM")
		req, _ := http.NewRequest("POST", s.api+"/v2/accounts/"+s.account+"/modules?name=m", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/wasm")
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, procStatus(t, pid, "VmHWM") - before
	}
	junk := append([]byte("\x00asm\x01\x00\x00\x00"), make([]byte, 31<<20)...)
	code, grew := upload(junk)
	t.Logf("31 MiB junk module: HTTP %d, peak RSS +%d KiB (%.1f MiB per MiB uploaded)", code, grew, float64(grew)/1024/31)
	if code != 400 {
		t.Fatalf("junk module: HTTP %d, want 400", code)
	}
	// The bound: the body is held (31 MiB) and read once more by the API's
	// decoding; nothing proportional to the junk's shape.
	const boundKiB = 160 << 10
	if grew > boundKiB {
		t.Fatalf("peak RSS grew %d KiB for a junk upload, bound %d KiB", grew, boundKiB)
	}
	real := testenv.BuildGuest(t, "../examples/ivr")
	code, grew = upload(real)
	t.Logf("%.1f MiB Go module: HTTP %d, peak RSS +%d KiB (%.1f MiB per MiB uploaded)", float64(len(real))/(1<<20), code, grew, float64(grew)/float64(len(real)))
	if code != 201 {
		t.Fatalf("real module: HTTP %d", code)
	}
}
