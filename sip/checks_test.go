package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func newCheckServer(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer(testConfig(), testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type reqOpts struct {
	app, toUser, source, auth, authHeader, extraVia string
	proxySource                                     string // an X-Wasmvoice-Source value
	maxForwards                                     int
	xHeaders                                        bool
}

// parseInvite builds an INVITE through sipgo's parser, as the listener does.
func parseInvite(t testing.TB, o reqOpts) *sip.Request {
	t.Helper()
	if o.toUser == "" {
		o.toUser = o.app
	}
	if o.source == "" {
		o.source = "127.0.0.1:5070"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:%s@%s SIP/2.0\r\n", o.app, testDomain)
	b.WriteString("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-test\r\n")
	if o.extraVia != "" {
		b.WriteString("Via: " + o.extraVia + "\r\n")
	}
	fmt.Fprintf(&b, "From: <sip:caller@example.com>;tag=abc\r\nTo: <sip:%s@%s>\r\n", o.toUser, testDomain)
	b.WriteString("Call-ID: check-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:5070>\r\n")
	if o.maxForwards >= 0 {
		fmt.Fprintf(&b, "Max-Forwards: %d\r\n", o.maxForwards)
	}
	if o.auth != "" {
		h := o.authHeader
		if h == "" {
			h = "Proxy-Authorization"
		}
		b.WriteString(h + ": " + o.auth + "\r\n")
	}
	if o.xHeaders {
		b.WriteString("X-Customer-Id: 42\r\nP-Asserted-Identity: <sip:+15551234@example.com>\r\nx-lower: yes\r\nUser-Agent: test\r\nX-Customer-Id: 43\r\n")
	}
	if o.proxySource != "" {
		b.WriteString(SourceHeader + ": " + o.proxySource + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	msg, err := sip.NewParser().ParseSIP([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	req.SetTransport("UDP")
	req.SetSource(o.source)
	return req
}

func TestCheckOrder(t *testing.T) {
	s := newCheckServer(t)
	now := time.Now()
	ruri := func(app string) string { return "sip:" + app + "@" + testDomain }
	good := func(app string) string {
		return testCredentials(s, "INVITE", ruri(app), app, testPassword, "SHA-256", 1)
	}
	cases := []struct {
		name   string
		o      reqOpts
		status int
		reason string
		stale  bool
	}{
		{"max_forwards_first", reqOpts{app: "unknown", maxForwards: 0}, 483, reasonTooManyHops, false},
		{"missing_max_forwards_is_70", reqOpts{app: appPassword, maxForwards: -1}, 407, reasonNoCredentials, false},
		{"loop_before_lookup", reqOpts{app: "unknown", maxForwards: 70, extraVia: "SIP/2.0/UDP 127.0.0.1:5999;branch=" + s.branchPrefix + ".x"}, 482, reasonLoop, false},
		{"unknown_app", reqOpts{app: "unknown", maxForwards: 70, source: "198.51.100.1:5060"}, 401, reasonUnknownApp, false},
		{"disabled", reqOpts{app: appDisabled, maxForwards: 70}, 401, reasonInboundDisabled, false},
		{"region_before_ip", reqOpts{app: appEU, maxForwards: 70, source: "198.51.100.1:5060"}, 401, reasonRegion, false},
		{"source_ip_before_auth", reqOpts{app: appBadIP, maxForwards: 70}, 401, reasonSourceIP, false},
		{"no_credentials", reqOpts{app: appPassword, maxForwards: 70}, 407, reasonNoCredentials, false},
		{"bad_nonce", reqOpts{app: appPassword, maxForwards: 70, auth: strings.Replace(good(appPassword), `nonce="`, `nonce="x`, 1)}, 407, reasonBadNonce, false},
		{"wrong_password", reqOpts{app: appPassword, maxForwards: 70, auth: testCredentials(s, "INVITE", ruri(appPassword), appPassword, "wrong", "MD5", 1)}, 401, reasonBadCredentials, false},
		{"digest_for_other_target", reqOpts{app: appPassword, maxForwards: 70, auth: testCredentials(s, "INVITE", "sip:"+appPassword+"@evil.example", appPassword, testPassword, "MD5", 1)}, 401, reasonBadCredentials, false},
		{"digest_user_other_app", reqOpts{app: appPassword, maxForwards: 70, auth: testCredentials(s, "INVITE", ruri(appPassword), appIPOnly, testPassword, "MD5", 1)}, 401, reasonBadCredentials, false},
		{"to_user_mismatch", reqOpts{app: appPassword, toUser: "other", maxForwards: 70, auth: good(appPassword)}, 403, reasonUserMismatch, false},
		{"accepted_sha256", reqOpts{app: appPassword, maxForwards: 70, auth: good(appPassword)}, 0, "", false},
		{"accepted_md5_authorization_header", reqOpts{app: appPassword, maxForwards: 70, authHeader: "Authorization", auth: testCredentials(s, "INVITE", ruri(appPassword), appPassword, testPassword, "MD5", 1)}, 0, "", false},
		{"ip_only_no_challenge", reqOpts{app: appIPOnly, maxForwards: 70}, 0, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := s.checkInvite(context.Background(), parseInvite(t, c.o), now)
			if v.status != c.status || v.reason != c.reason || v.stale != c.stale {
				t.Fatalf("got %d %q stale=%v (%v), want %d %q stale=%v", v.status, v.reason, v.stale, v.err, c.status, c.reason, c.stale)
			}
		})
	}

	t.Run("stale_then_replay", func(t *testing.T) {
		auth := good(appPassword)
		later := now.Add(s.cfg.NonceTTL + time.Second)
		if v := s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: auth}), later); v.status != 407 || !v.stale {
			t.Fatalf("expired nonce: %d stale=%v", v.status, v.stale)
		}
		if v := s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: auth}), now); v.status != 0 {
			t.Fatalf("first use: %d %s", v.status, v.reason)
		}
		if v := s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: auth}), now); v.status != 407 || v.reason != reasonNonceReplay || !v.stale {
			t.Fatalf("replay: %d %s stale=%v", v.status, v.reason, v.stale)
		}
	})
}

func TestChallengeHeaders(t *testing.T) {
	hs := challengeHeaders("Proxy-Authenticate", testDomain, "NONCE", true, []string{algSHA256, algMD5})
	want := []string{
		`Digest realm="sip.test.example", nonce="NONCE", algorithm=SHA-256, qop="auth", stale=true`,
		`Digest realm="sip.test.example", nonce="NONCE", algorithm=MD5, qop="auth", stale=true`,
	}
	if len(hs) != 2 || hs[0].Value() != want[0] || hs[1].Value() != want[1] || hs[0].Name() != "Proxy-Authenticate" {
		t.Fatalf("challenges: %v", hs)
	}
}

func TestStripXHeaders(t *testing.T) {
	req := parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, xHeaders: true})
	clean, xs := stripXHeaders(req)
	if len(xs) != 3 || xs[0] != (Header{"X-Customer-Id", "42"}) || xs[1] != (Header{"x-lower", "yes"}) || xs[2] != (Header{"X-Customer-Id", "43"}) {
		t.Fatalf("removed headers: %v", xs)
	}
	for _, h := range clean.Headers() {
		if isXHeader(h.Name()) {
			t.Fatalf("X header left: %s", h.Name())
		}
	}
	for _, name := range []string{"P-Asserted-Identity", "User-Agent", "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards"} {
		if clean.GetHeader(name) == nil {
			t.Fatalf("%s removed", name)
		}
	}
	if req.GetHeader("X-Customer-Id") == nil {
		t.Fatal("the original request was modified")
	}
	if strings.Contains(clean.String(), "X-Customer") || !strings.Contains(clean.String(), "P-Asserted-Identity") {
		t.Fatalf("serialized request:\n%s", clean.String())
	}
}

func TestScanWire(t *testing.T) {
	w := scanWire([]byte("SIP/2.0 200 OK\r\nf: \"A;B\" <sip:a@b;tag=no>;tag=FROM1\r\nTo: <sip:x@y>;foo=bar; tag = TO2 \r\ni: abc@host\r\n\r\nCall-ID: body"))
	if !w.response || string(w.callID) != "abc@host" || string(w.fromTag) != "FROM1" || string(w.toTag) != "TO2" {
		t.Fatalf("%+v", w)
	}
	w = scanWire([]byte("BYE sip:x SIP/2.0\nCALL-ID:  q \nFrom: <sip:a>\n\n"))
	if w.response || string(w.callID) != "q" || w.fromTag != nil {
		t.Fatalf("%+v", w)
	}
}

func FuzzScanWire(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\n\r\n"))
	f.Add([]byte("SIP/2.0 100 Trying\r\ni:\r\nt: ;tag\r\n"))
	f.Add([]byte(""))
	f.Add([]byte(":\n:\r\n;tag=;;"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w := scanWire(b)
		if len(w.callID) > len(b) || len(w.fromTag) > len(b) || len(w.toTag) > len(b) {
			t.Fatal("result longer than input")
		}
	})
}

func FuzzCheckInvite(f *testing.F) {
	f.Add("INVITE sip:" + appPassword + "@x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-1\r\nTo: <sip:" + appPassword + "@x>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nProxy-Authorization: Digest username=\"a\", realm=\"" + testDomain + "\", nonce=\"n\", uri=\"sip:x\", response=\"r\", qop=auth, nc=00000001, cnonce=\"c\"\r\nContent-Length: 0\r\n\r\n")
	f.Add("INVITE sip:x SIP/2.0\r\nMax-Forwards: 0\r\n\r\n")
	f.Add("INVITE sip:" + appIPOnly + "@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\nTo: sip:x\r\nAuthorization: Digest realm=\"" + testDomain + "\", algorithm=SHA-512\r\n\r\n")
	s := newCheckServer(f)
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := parser.ParseSIP([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("127.0.0.1:5060")
		v := s.checkInvite(context.Background(), req, time.Now())
		if v.status != 0 && v.reason == "" {
			t.Fatalf("refusal without a reason: %d", v.status)
		}
	})
}

// BenchmarkCheckChallenge is the cost of the common first leg: an INVITE
// without credentials for a password application (407).
func BenchmarkCheckChallenge(b *testing.B) {
	s := newCheckServer(b)
	req := parseInvite(b, reqOpts{app: appPassword, maxForwards: 70})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if v := s.checkInvite(context.Background(), req, now); v.status != 407 {
			b.Fatal(v.status)
		}
	}
}

// BenchmarkCheckDigest is the full pipeline on an authenticated INVITE
// (nonce MAC, SHA-256 digest, replay table, user checks).
func BenchmarkCheckDigest(b *testing.B) {
	s := newCheckServer(b)
	now := time.Now()
	reqs := make([]*sip.Request, 4096)
	for i := range reqs {
		reqs[i] = parseInvite(b, reqOpts{app: appPassword, maxForwards: 70,
			auth: testCredentials(s, "INVITE", "sip:"+appPassword+"@"+testDomain, appPassword, testPassword, "SHA-256", 1)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(reqs) {
			b.StopTimer()
			s.replay = newReplayCache(DefaultReplayCacheSize, s.cfg.NonceTTL)
			i = 0
			b.StartTimer()
		}
		if v := s.checkInvite(context.Background(), reqs[i], now); v.status != 0 {
			b.Fatal(v.status, v.reason, v.err)
		}
		i++
	}
}

func BenchmarkStripXHeaders(b *testing.B) {
	req := parseInvite(b, reqOpts{app: appPassword, maxForwards: 70, xHeaders: true})
	b.ReportAllocs()
	for b.Loop() {
		stripXHeaders(req)
	}
}

func BenchmarkScanWire(b *testing.B) {
	req := parseInvite(b, reqOpts{app: appPassword, maxForwards: 70, xHeaders: true})
	raw := []byte(req.String())
	b.ReportAllocs()
	for b.Loop() {
		scanWire(raw)
	}
}
