package sip

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/guard"
)

// Digest hygiene: a nonce is good only where it was sent; stale=true is
// only for a right answer to an expired nonce; an algorithm the node does not
// offer is refused.
func TestDigestHygiene(t *testing.T) {
	s := newCheckServer(t)
	now := time.Now()
	ruri := "sip:" + appPassword + "@" + testDomain
	check := func(o reqOpts, at time.Time) verdict {
		o.app, o.maxForwards = appPassword, 70
		return s.checkInvite(context.Background(), parseInvite(t, o), at)
	}
	later := now.Add(s.cfg.NonceTTL + time.Second)
	if v := check(reqOpts{auth: testCredentials(s, "INVITE", ruri, appPassword, "wrong", "SHA-256", 1)}, later); v.status != 401 || v.stale {
		t.Errorf("expired nonce, wrong password: %d %s stale=%v; want 401 without stale", v.status, v.reason, v.stale)
	}
	if v := check(reqOpts{auth: testCredentials(s, "INVITE", ruri, appPassword, testPassword, "SHA-256", 2)}, later); v.status != 407 || !v.stale {
		t.Errorf("expired nonce, right password: %d %s stale=%v; want 407 stale", v.status, v.reason, v.stale)
	}
	// A nonce another application was challenged with (the digest itself
	// computed for this Request-URI).
	other := testCredentials(s, "INVITE", "sip:"+appEU+"@"+testDomain, appPassword, testPassword, "SHA-256", 1)
	other = strings.Replace(other, "sip:"+appEU+"@", "sip:"+appPassword+"@", 1)
	if v := check(reqOpts{auth: other}, now); v.status != 407 || v.reason != reasonBadNonce {
		t.Errorf("nonce of another application: %d %s", v.status, v.reason)
	}
	// The same credentials from another address.
	if v := check(reqOpts{auth: testCredentials(s, "INVITE", ruri, appPassword, testPassword, "SHA-256", 1), source: "198.51.100.9:5060"}, now); v.status != 407 || v.reason != reasonBadNonce {
		t.Errorf("nonce used from another address: %d %s", v.status, v.reason)
	}

	cfg := testConfig()
	cfg.DigestAlgorithms = []string{"SHA-256"}
	sha, err := NewServer(cfg, testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	defer sha.Close()
	md5 := parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: testCredentials(sha, "INVITE", ruri, appPassword, testPassword, "MD5", 1)})
	if v := sha.checkInvite(context.Background(), md5, now); v.status != 401 || v.reason != reasonBadCredentials {
		t.Errorf("MD5 on a SHA-256-only node: %d %s", v.status, v.reason)
	}
}

func newGuardedServer(t *testing.T, g *guard.Guard) *Server {
	t.Helper()
	cfg := testConfig()
	cfg.Guard = g
	apps := newNumberServer(t).numbers.(memNumbers)
	s, err := NewServer(cfg, apps, newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A stranger gets the same answers for a number that is not attached and
// for one it may not use (407, then 401), so numbers cannot be enumerated; a
// known trunk gets the precise 404 and 403.
func TestNumbersCannotBeEnumerated(t *testing.T) {
	g := guard.New(guard.Config{Zone: "test", Trusted: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	s := newGuardedServer(t, g)
	now := time.Now()
	check := func(number, source, auth string) verdict {
		return s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: number, maxForwards: 70, source: source, auth: auth}), now)
	}
	cred := func(number, src string) string {
		c := testCredentials(s, "INVITE", "sip:"+number+"@"+testDomain, pbxUser, "guess", "MD5", 1)
		// A nonce as the stranger's challenge carried it.
		n := s.nonces.issue(now, nonceBinding{target: "num:" + number, source: netip.MustParseAddrPort(src).Addr(), realm: testDomain})
		start := strings.Index(c, `nonce="`) + len(`nonce="`)
		end := start + strings.Index(c[start:], `"`)
		return c[:start] + n + c[end:]
	}
	const stranger = "198.51.100.7:5060"
	for _, number := range []string{"+14159999999", numIP, numRegister} {
		if v := check(number, stranger, ""); v.status != 407 {
			t.Errorf("stranger to %s: %d %s, want 407", number, v.status, v.reason)
		}
		if v := check(number, stranger, cred(number, stranger)); v.status != 401 {
			t.Errorf("stranger with credentials to %s: %d %s, want 401", number, v.status, v.reason)
		}
	}
	const trunk = "192.0.2.50:5060"
	if v := check("+14159999999", trunk, ""); v.status != 404 {
		t.Errorf("trunk to an unknown number: %d %s, want 404", v.status, v.reason)
	}
	if v := check(numIP, trunk, ""); v.status != 403 {
		t.Errorf("trunk to a number of another trunk: %d %s, want 403", v.status, v.reason)
	}
}

// Failed authentications ban their source; a target that keeps failing
// refuses even the right password for a while; trusted sources are spared.
func TestAuthFailuresReachTheGuard(t *testing.T) {
	g := guard.New(guard.Config{Zone: "test", AuthLimit: 5, TargetLimit: 8, TargetLock: time.Minute})
	s := newGuardedServer(t, g)
	ruri := "sip:" + appPassword + "@" + testDomain
	wrong := testCredentials(s, "INVITE", ruri, appPassword, "wrong", "MD5", 1)
	tx := &recordingTx{}
	for i := range 9 {
		req := parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: wrong})
		v := s.checkInvite(context.Background(), req, time.Now())
		if v.status != 401 {
			t.Fatalf("guess %d: %d %s", i, v.status, v.reason)
		}
		s.refuse(req, tx, v)
	}
	if !g.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("a source past its failed-authentication budget is not banned")
	}
	right := testCredentials(s, "INVITE", ruri, appPassword, testPassword, "MD5", 2)
	if v := s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: right}), time.Now()); v.reason != reasonAuthLocked {
		t.Fatalf("right password on a locked application: %d %s", v.status, v.reason)
	}
}

// recordingTx is a server transaction that keeps what it was asked to send.
type recordingTx struct {
	sip.ServerTransaction
	responses []*sip.Response
}

func (tx *recordingTx) Respond(r *sip.Response) error {
	tx.responses = append(tx.responses, r)
	return nil
}
func (tx *recordingTx) Terminate() {}

// Datagrams of banned sources and of scanners are dropped before they are
// parsed; scanners are banned.
func TestReadFilter(t *testing.T) {
	g := guard.New(guard.Config{Zone: "test"})
	s := newGuardedServer(t, g)
	props := func(ip string) sip.TransportReadProps {
		return sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.ParseIP(ip), Port: 5060}}
	}
	msg := []byte("OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK1\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nUser-Agent: Linphone 5.1\r\n\r\n")
	if out, err := s.readFilter(props("198.51.100.1"), msg); err != nil || len(out) == 0 {
		t.Fatal("a plain datagram was dropped")
	}
	scan := []byte("OPTIONS sip:100@x SIP/2.0\r\nVia: x\r\nuser-agent: friendly-scanner\r\n\r\n")
	if out, _ := s.readFilter(props("198.51.100.2"), scan); len(out) != 0 {
		t.Fatal("a scanner's datagram went through")
	}
	if out, _ := s.readFilter(props("198.51.100.2"), msg); len(out) != 0 || !g.Banned(netip.MustParseAddr("198.51.100.2")) {
		t.Fatal("the scanner was not banned")
	}
	if out, _ := s.readFilter(props("198.51.100.1"), []byte("\r\n\r\n")); string(out) != "\r\n\r\n" {
		t.Fatal("a keep-alive was dropped")
	}
}
