package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// newCaller starts a second server used only as the calling side (its Dial
// is the client leg under test). It listens on UDP so the callee can reach
// its Contact with a BYE.
func newCaller(t *testing.T, clientTLS *tls.Config) *Server {
	t.Helper()
	cfg := testConfig()
	cfg.NonceKey = []byte("caller-key-caller-key-caller-key")
	cfg.ClientTLS = clientTLS
	srv, _ := startServer(t, cfg, HandlerFunc(func(ctx context.Context, c *InboundCall) { _ = c.Reject(603, "Decline") }), "udp", "tcp")
	return srv
}

func traceHas(tr *Trace, dir Direction, prefix string) bool {
	for _, e := range tr.Entries() {
		if e.Direction == dir && strings.HasPrefix(e.Message, prefix) {
			return true
		}
	}
	return false
}

// TestTLSDigestSHA256 runs the auth flow over TLS with a certificate made
// in the test: the caller's sipgo digest client answers the first
// challenge, SHA-256 by default. The caller then hangs up (BYE from the
// remote side of the callee).
func TestTLSDigestSHA256(t *testing.T) {
	cert, pool := testCert(t)
	engine := newTestEngine(true)
	callee, err := NewServer(testConfig(), testApps(t), engine)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := callee.ListenAndServeTLS(ctx, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10}); err != nil {
			t.Errorf("tls: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); callee.Close(); wg.Wait() })
	addr := waitListeners(t, callee, 1)["tls"]

	// TLS 1.1 is refused whatever the configuration said.
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}

	caller := newCaller(t, &tls.Config{RootCAs: pool})
	var provisional []int
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	out, err := caller.Dial(dctx, DialRequest{
		URI: "sip:" + appPassword + "@" + addr + ";transport=tls", SDP: []byte(testSDP),
		Username: appPassword, Password: testPassword,
		Headers:       []Header{{"X-Account-Ref", "abc"}, {"P-Custom", "kept"}},
		OnProvisional: func(status int, _ string, _ []byte) { provisional = append(provisional, status) },
	})
	if err != nil {
		t.Fatalf("dial over TLS: %v", err)
	}
	call := engine.waitCall(t)
	if call.Transport != "TLS" {
		t.Fatalf("transport %q", call.Transport)
	}
	if !strings.Contains(call.Request.GetHeader("Proxy-Authorization").Value(), "algorithm=SHA-256") {
		t.Fatalf("not a SHA-256 digest: %s", call.Request.GetHeader("Proxy-Authorization").Value())
	}
	if call.Request.GetHeader("P-Custom") == nil || call.Request.GetHeader("X-Account-Ref") != nil {
		t.Fatal("header stripping wrong on the engine's request")
	}
	if string(out.AnswerSDP()) != testSDP {
		t.Fatalf("answer SDP %q", out.AnswerSDP())
	}
	// sipgo hands responses up concurrently, so a 200 can overtake the 1xx
	// in the client transaction; the wire trace shows what was sent.
	if !traceHas(out.Trace(), DirectionIn, "SIP/2.0 100 Trying") {
		t.Fatalf("no 100 Trying reached the caller; provisional seen: %v", provisional)
	}
	if err := out.Hangup(dctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	waitDone(t, call.Done(), "inbound call")
	if r := call.EndReason(); r != EndRemoteBye {
		t.Fatalf("inbound end reason %q", r)
	}
	if r := out.EndReason(); r != EndLocalBye {
		t.Fatalf("outbound end reason %q", r)
	}
	tr := call.Trace()
	for _, want := range []struct {
		dir    Direction
		prefix string
	}{{DirectionIn, "INVITE "}, {DirectionOut, "SIP/2.0 100 Trying"}, {DirectionOut, "SIP/2.0 180 Ringing"}, {DirectionOut, "SIP/2.0 200 OK"}, {DirectionIn, "ACK "}, {DirectionIn, "BYE "}} {
		if !traceHas(tr, want.dir, want.prefix) {
			t.Errorf("inbound trace lacks %s %q", want.dir, want.prefix)
		}
	}
	byes := 0
	for _, e := range tr.Entries() {
		if e.Transport == "" || e.Remote == "" || e.Time.IsZero() {
			t.Errorf("trace entry without transport/address/time: %+v", e)
		}
		if strings.HasPrefix(e.Message, "BYE ") {
			byes++
		}
	}
	// The BYE is recorded before it ends the call (as the trace is read
	// here at once), and once though both the read hook and the handler
	// record it.
	if byes != 1 {
		t.Errorf("the BYE is in the inbound trace %d times", byes)
	}
	if !traceHas(out.Trace(), DirectionOut, "INVITE ") || !traceHas(out.Trace(), DirectionIn, "SIP/2.0 407") {
		t.Error("outbound trace lacks the INVITE / 407")
	}
}

// TestCancelBeforeAnswer: the caller cancels while the engine only rings;
// the INVITE gets 487 and the call ends as cancelled.
func TestCancelBeforeAnswer(t *testing.T) {
	engine := newTestEngine(false)
	_, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)

	dctx, dcancel := context.WithCancel(context.Background())
	defer dcancel()
	var once sync.Once
	_, err := caller.Dial(dctx, DialRequest{
		URI: "sip:" + appIPOnly + "@" + addrs["udp"], SDP: []byte(testSDP),
		OnProvisional: func(status int, _ string, _ []byte) {
			if status == 180 {
				once.Do(dcancel)
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("dial error %v, want context.Canceled", err)
	}
	call := engine.waitCall(t)
	waitDone(t, call.Done(), "cancelled call")
	if r := call.EndReason(); r != EndCanceled {
		t.Fatalf("end reason %q", r)
	}
	// sipgo's transaction layer answers the CANCEL (487) before our read hook
	// records it, so the two appear in either order: wait for both.
	deadline := time.Now().Add(10 * time.Second)
	for !traceHas(call.Trace(), DirectionOut, "SIP/2.0 487 Request Terminated") || !traceHas(call.Trace(), DirectionIn, "CANCEL ") {
		if time.Now().After(deadline) {
			t.Fatalf("487 in the trace: %v, CANCEL: %v", traceHas(call.Trace(), DirectionOut, "SIP/2.0 487 Request Terminated"), traceHas(call.Trace(), DirectionIn, "CANCEL "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHangupFromOurSide: the engine sends BYE; the caller's leg ends as
// remote-bye. The IP-only application is answered without any challenge.
func TestHangupFromOurSide(t *testing.T) {
	engine := newTestEngine(true)
	_, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs[transport] + ";transport=" + transport, SDP: []byte(testSDP)})
			if err != nil {
				t.Fatalf("dial (no credentials, IP-only application): %v", err)
			}
			if traceHas(out.Trace(), DirectionIn, "SIP/2.0 407") {
				t.Fatal("IP-only application was challenged")
			}
			call := engine.waitCall(t)
			if err := call.Hangup(ctx); err != nil {
				t.Fatalf("hangup: %v", err)
			}
			if r := call.EndReason(); r != EndLocalBye {
				t.Fatalf("inbound end reason %q", r)
			}
			waitDone(t, out.Done(), "outbound leg")
			if r := out.EndReason(); r != EndRemoteBye {
				t.Fatalf("outbound end reason %q", r)
			}
		})
	}
}

// TestReinvite: a re-INVITE reaches the engine's hook and its SDP answers it.
func TestReinvite(t *testing.T) {
	engine := newTestEngine(true)
	_, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs["udp"], SDP: []byte(testSDP)})
	if err != nil {
		t.Fatal(err)
	}
	call := engine.waitCall(t)
	const held = "v=0\r\no=wasmvoice 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"
	offers := make(chan string, 1)
	call.OnReinvite(func(_ context.Context, req *sip.Request) ([]byte, error) {
		offers <- string(req.Body())
		return []byte(held), nil
	})
	reinv := sip.NewRequest(sip.INVITE, out.session.InviteResponse.Contact().Address)
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody([]byte("v=0\r\nre-offer\r\n"))
	res, err := out.session.Do(ctx, reinv)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || string(res.Body()) != held {
		t.Fatalf("re-INVITE answered %d %q", res.StatusCode, res.Body())
	}
	if offered := <-offers; offered != "v=0\r\nre-offer\r\n" {
		t.Fatalf("hook saw %q", offered)
	}
	ack := sip.NewRequest(sip.ACK, out.session.InviteResponse.Contact().Address)
	if err := out.session.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}

	// The other way: a session refresh towards the outbound leg, which has
	// no hook, is answered with the offer it sent.
	refresh := sip.NewRequest(sip.INVITE, call.session.InviteRequest.Contact().Address)
	refresh.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	refresh.SetBody([]byte(held))
	res, err = call.session.Do(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || string(res.Body()) != testSDP {
		t.Fatalf("refresh answered %d %q", res.StatusCode, res.Body())
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, call.Done(), "call")
}

// TestUnknownDialog481: in-dialog requests for a dialog we do not have get
// 481, and so does an unmatched CANCEL.
func TestUnknownDialog481(t *testing.T) {
	env := newTestEnv(t)
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method sip.RequestMethod
		want   int
	}{{sip.BYE, 481}, {sip.INVITE, 481}, {sip.INFO, 481}, {sip.REFER, 481}, {sip.NOTIFY, 481}, {sip.CANCEL, 481}, {sip.MESSAGE, 405}, {sip.RequestMethod("FROB"), 501}} {
		for _, transport := range []string{"udp", "tcp"} {
			addr := env.udp
			if transport == "tcp" {
				addr = env.tcp
			}
			var ruri sip.Uri
			if err := sip.ParseUri("sip:"+appPassword+"@"+addr+";transport="+transport, &ruri); err != nil {
				t.Fatal(err)
			}
			req := sip.NewRequest(tc.method, ruri)
			to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: appPassword, Host: "127.0.0.1"}, Params: sip.NewParams()}
			if tc.method != sip.MESSAGE && tc.method != sip.CANCEL && tc.method != "FROB" {
				to.Params.Add("tag", "no-such-dialog")
			}
			req.AppendHeader(to)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := client.Do(ctx, req)
			cancel()
			if err != nil {
				t.Fatalf("%s over %s: %v", tc.method, transport, err)
			}
			if res.StatusCode != tc.want {
				t.Errorf("%s over %s: %d %s, want %d", tc.method, transport, res.StatusCode, res.Reason, tc.want)
			}
			if tc.want == 405 && res.GetHeader("Allow") == nil {
				t.Errorf("405 without Allow")
			}
		}
	}
}

// TestAnswerTimeout: an engine that never answers gets the INVITE ended
// with 480 after AnswerTimeout.
func TestAnswerTimeout(t *testing.T) {
	engine := newTestEngine(false)
	cfg := testConfig()
	cfg.AnswerTimeout = 300 * time.Millisecond
	_, addrs := startServer(t, cfg, engine)
	caller := newCaller(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs["tcp"] + ";transport=tcp", SDP: []byte(testSDP)})
	var de *DialError
	if !errors.As(err, &de) || de.Status != 480 {
		t.Fatalf("dial error %v, want 480", err)
	}
	call := engine.waitCall(t)
	waitDone(t, call.Done(), "call")
	if r := call.EndReason(); r != EndTimeout {
		t.Fatalf("end reason %q", r)
	}
}

// TestShutdownHangsUp: Shutdown sends BYE on answered calls.
func TestShutdownHangsUp(t *testing.T) {
	engine := newTestEngine(true)
	callee, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs["udp"], SDP: []byte(testSDP)})
	if err != nil {
		t.Fatal(err)
	}
	call := engine.waitCall(t)
	if err := callee.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if r := call.EndReason(); r != EndShutdown {
		t.Fatalf("inbound end reason %q", r)
	}
	waitDone(t, out.Done(), "outbound leg")
}

func TestConfigValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{NonceKey: []byte("short"), AdvertisedPort: 70000, DigestAlgorithms: []string{"SHA-512"}}
	err := bad.Validate()
	for _, want := range []string{"Domain", "Region", "NonceKey", "AdvertisedPort", "SHA-512"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	if _, err := NewServer(bad, memApps{}, newTestEngine(true)); err == nil {
		t.Fatal("NewServer accepted a bad config")
	}
}

// An outbound INVITE over UDP, its ACK and the BYE leave from the node's UDP
// listener: the source port is the one Via and Contact name (a trunk with
// an address allowlist, or a NAT, sees --sip-addr's port).
func TestDialLeavesFromTheListener(t *testing.T) {
	caller := newCaller(t, nil)
	var listener string
	for _, l := range caller.Listeners() {
		if l.Network == "udp" {
			listener = l.Addr
		}
	}
	uas, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer uas.Close()
	via := regexp.MustCompile(`(?mi)^Via: SIP/2\.0/UDP [^:;]+:(\d+)`)
	cseq := regexp.MustCompile(`(?mi)^CSeq:.*$`)
	seen := map[string]bool{}
	// read returns the next request, not one seen before (this UAS sends no
	// 100, so a slow answer has the INVITE resent), and checks where it
	// came from.
	read := func(method string) (string, *net.UDPAddr) {
		t.Helper()
		buf := make([]byte, 65535)
		_ = uas.SetReadDeadline(time.Now().Add(10 * time.Second))
		var msg string
		var src *net.UDPAddr
		for {
			n, from, err := uas.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v", method, err)
			}
			msg, src = string(buf[:n]), from
			key := cseq.FindString(msg)
			if !seen[key] {
				seen[key] = true
				break
			}
		}
		if !strings.HasPrefix(msg, method+" ") {
			t.Fatalf("want %s, got %q", method, msg)
		}
		if src.String() != listener {
			t.Errorf("%s came from %s, not the listener %s", method, src, listener)
		}
		if m := via.FindStringSubmatch(msg); m == nil || ":"+m[1] != listener[strings.LastIndex(listener, ":"):] {
			t.Errorf("%s Via names another port than the listener %s: %q", method, listener, m)
		}
		return msg, src
	}
	// answer sends a final response to req.
	answer := func(req string, src *net.UDPAddr, body string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("SIP/2.0 200 OK\r\n")
		for _, line := range strings.Split(req, "\r\n") {
			switch name, _, _ := strings.Cut(line, ":"); strings.ToLower(name) {
			case "via", "from", "call-id", "cseq":
				b.WriteString(line + "\r\n")
			case "to":
				b.WriteString(line + ";tag=uas1\r\n")
			}
		}
		b.WriteString("Contact: <sip:uas@" + uas.LocalAddr().String() + ">\r\n")
		if body != "" {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		if _, err := uas.WriteToUDP([]byte(b.String()), src); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type dialed struct {
		out *OutboundCall
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		out, err := caller.Dial(ctx, DialRequest{URI: "sip:uas@" + uas.LocalAddr().String(), SDP: []byte(testSDP)})
		done <- dialed{out, err}
	}()
	inv, src := read("INVITE")
	answer(inv, src, testSDP)
	d := <-done
	if d.err != nil {
		t.Fatal(d.err)
	}
	read("ACK")
	hung := make(chan error, 1)
	go func() { hung <- d.out.Hangup(ctx) }()
	bye, src := read("BYE")
	answer(bye, src, "")
	if err := <-hung; err != nil {
		t.Fatal(err)
	}
}

// A caller over TCP whose Contact names an address we cannot connect to (a
// phone behind NAT) still gets our BYE: on the connection its INVITE came on
// (RFC 3261 §18, RFC 5923's reuse). The dialog sends in-dialog requests to
// the INVITE's source (DialogUA.RewriteContact), and sipgo's pool finds the
// open connection to it.
func TestByeReusesTheCallersConnection(t *testing.T) {
	engine := newTestEngine(true)
	_, addrs := startServer(t, testConfig(), engine, "tcp")
	c := dialTCP(t, addrs["tcp"])
	r := bufio.NewReader(c)
	local := c.LocalAddr().String()
	invite := "INVITE sip:" + appIPOnly + "@" + addrs["tcp"] + ";transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-reuse1;rport\r\n" +
		"From: <sip:caller@127.0.0.1>;tag=caller1\r\nTo: <sip:" + appIPOnly + "@" + testDomain + ">\r\n" +
		"Call-ID: reuse-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" +
		// Port 9 (discard) on a private address: nothing there answers.
		"Contact: <sip:caller@10.255.255.1:9;transport=tcp>\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + fmt.Sprint(len(testSDP)) + "\r\n\r\n" + testSDP
	if _, err := c.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	msg := readMessage(t, c, r, "SIP/2.0 200")
	toTag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`).FindStringSubmatch(msg)
	if toTag == nil {
		t.Fatalf("200 without a To tag:\n%s", msg)
	}
	ack := "ACK sip:" + appIPOnly + "@" + addrs["tcp"] + ";transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-reuse2;rport\r\n" +
		"From: <sip:caller@127.0.0.1>;tag=caller1\r\nTo: <sip:" + appIPOnly + "@" + testDomain + ">;tag=" + toTag[1] + "\r\n" +
		"Call-ID: reuse-1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	call := engine.waitCall(t)
	hung := testenv.Go(t, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return call.Hangup(ctx)
	})
	bye := readMessage(t, c, r, "BYE ")
	var ok strings.Builder
	ok.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		for _, line := range strings.Split(bye, "\r\n") {
			if strings.HasPrefix(line, h+":") {
				ok.WriteString(line + "\r\n")
			}
		}
	}
	ok.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := c.Write([]byte(ok.String())); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err != nil {
		t.Fatalf("hangup: %v", err)
	}
}

// readMessage reads SIP messages from a stream until one starts with
// prefix, and returns it (headers and body).
func readMessage(t *testing.T, c net.Conn, r *bufio.Reader, prefix string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var head strings.Builder
		length := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v (so far %q)", prefix, err, head.String())
			}
			if line == "\r\n" {
				break
			}
			head.WriteString(line)
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
				fmt.Sscan(strings.TrimSpace(v), &length)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatal(err)
		}
		if msg := head.String(); strings.HasPrefix(msg, prefix) {
			return msg + "\r\n" + string(body)
		}
	}
}

// An ended call is not kept alive by its INVITE transaction, which sipgo
// holds for 32 s after the answer on UDP (RFC 6026 Timer L): at a few
// hundred calls a second, ended calls with their traces would pile up.
func TestEndedCallIsNotKeptByItsTransaction(t *testing.T) {
	engine := newTestEngine(true)
	_, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs["udp"], SDP: []byte(testSDP)})
	if err != nil {
		t.Fatal(err)
	}
	call := engine.waitCall(t)
	ended := weak.Make(call)
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, call.Done(), "the inbound call")
	call = nil
	for i := 0; i < 100 && ended.Value() != nil; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if ended.Value() != nil {
		t.Fatal("the ended call is still reachable (from the dialog's state callback?)")
	}
}

// sipgo reports a write after it is done, so a fast answer can be traced
// before the request it answers: the trace still puts the request first.
func TestTraceRequestBeforeItsAnswer(t *testing.T) {
	tr := &Trace{callID: "order-1"}
	t0 := time.Now()
	invite := "INVITE sip:a@b SIP/2.0\r\nCall-ID: order-1\r\nCSeq: 1 INVITE\r\n\r\n"
	tr.add(TraceEntry{Time: t0, Direction: DirectionIn, Message: "SIP/2.0 401 Unauthorized\r\nCSeq: 1 INVITE\r\n\r\n"})
	tr.add(TraceEntry{Time: t0.Add(time.Millisecond), Direction: DirectionOut, Message: invite})
	tr.add(TraceEntry{Time: t0.Add(2 * time.Millisecond), Direction: DirectionOut, Message: "ACK sip:a@b SIP/2.0\r\nCSeq: 1 ACK\r\n\r\n"})
	tr.add(TraceEntry{Time: t0.Add(3 * time.Millisecond), Direction: DirectionOut, Message: "INVITE sip:a@b SIP/2.0\r\nCSeq: 2 INVITE\r\n\r\n"})
	var got []string
	for _, e := range tr.Entries() {
		first, _, _ := strings.Cut(e.Message, "\r\n")
		got = append(got, first)
	}
	want := []string{"INVITE sip:a@b SIP/2.0", "SIP/2.0 401 Unauthorized", "ACK sip:a@b SIP/2.0", "INVITE sip:a@b SIP/2.0"}
	if !slices.Equal(got, want) {
		t.Errorf("trace order %q, want %q", got, want)
	}
}
