package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/wasmvoice/wasmvoice/guard"
)

// udpPeer is a SIP client on a raw UDP socket: it sends what the test
// writes and reads the final answer.
type udpPeer struct {
	t    *testing.T
	c    *net.UDPConn
	to   *net.UDPAddr
	cseq int
	// wait bounds how long invite waits for its answer (default 10 s); a
	// check that no answer comes sets it short.
	wait time.Duration
}

func newUDPPeer(t *testing.T, ip, server string) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	to, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	return &udpPeer{t: t, c: c, to: to}
}

var (
	finalStatus = regexp.MustCompile(`^SIP/2\.0 ([2-6]\d\d) `)
	challengeHd = regexp.MustCompile(`(?mi)^(?:Proxy|WWW)-Authenticate: *(.+?)\r$`)
)

// invite sends an INVITE to user with the Proxy-Authorization auth (if
// any) and returns the final response ("" when none came).
func (p *udpPeer) invite(user, auth string) string {
	p.t.Helper()
	p.cseq++
	hdr := ""
	if auth != "" {
		hdr = "Proxy-Authorization: " + auth + "\r\n"
	}
	msg := fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-wire%d-%d\r\n"+
		"From: <sip:caller@example.com>;tag=w%d\r\nTo: <sip:%s@%s>\r\nCall-ID: wire-%s-%d@test\r\nCSeq: %d INVITE\r\n"+
		"Contact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n%sContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		user, testDomain, p.c.LocalAddr(), p.cseq, time.Now().UnixNano(), p.cseq, user, testDomain, p.c.LocalAddr(), p.cseq, p.cseq,
		p.c.LocalAddr(), hdr, len(testSDP), testSDP)
	if _, err := p.c.WriteToUDP([]byte(msg), p.to); err != nil {
		p.t.Fatal(err)
	}
	// The answer to this INVITE, not a resent answer to an earlier one (a
	// 200 we never ACK is resent).
	callID := fmt.Sprintf("Call-ID: wire-%s-%d@test\r\n", p.c.LocalAddr(), p.cseq)
	buf := make([]byte, 65535)
	wait := p.wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	_ = p.c.SetReadDeadline(time.Now().Add(wait))
	for {
		n, _, err := p.c.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		if finalStatus.Match(buf[:n]) && bytes.Contains(buf[:n], []byte(callID)) {
			return string(buf[:n])
		}
	}
}

func status(resp string) int {
	m := finalStatus.FindStringSubmatch(resp)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// digestAnswer computes the credentials a client with password sends for user
// to the first challenge of resp.
func digestAnswer(t *testing.T, resp, user, password string) string {
	t.Helper()
	m := challengeHd.FindStringSubmatch(resp)
	if m == nil {
		t.Fatalf("no challenge in %q", resp)
	}
	chal, err := digest.ParseChallenge(m[1])
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:" + user + "@" + testDomain,
		Username: user, Password: password, Count: 1, Cnonce: "0a4f113b"})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// Digest hygiene over UDP against a listening server: a nonce is good only
// for the application and source it was sent to, an algorithm the node does
// not offer is refused, and a source guessing passwords is banned (dropped
// without an answer, even with the right one).
func TestDigestHygieneOnTheWire(t *testing.T) {
	apps := testApps(t)
	const other = "0b7c1f6e-5a1d-4c2e-9f1a-0000000000ff"
	apps[other] = Application{ID: other, AccountID: "acct-1", InboundEnabled: true, PasswordAuth: true,
		HA1MD5: mustHA1(t, "MD5", other, testPassword), HA1SHA256: mustHA1(t, "SHA-256", other, testPassword)}
	cfg := testConfig()
	cfg.DigestAlgorithms = []string{algSHA256}
	cfg.Guard = guard.New(guard.Config{Zone: "test-wire", AuthLimit: 3})
	srv, err := NewServer(cfg, apps, newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.ListenAndServe(ctx, "udp", "127.0.0.1:0"); err != nil {
			t.Errorf("listen: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); srv.Close(); wg.Wait() })
	addr := waitListeners(t, srv, 1)["udp"]

	a := newUDPPeer(t, "127.0.0.1", addr)
	chal := a.invite(appPassword, "")
	if status(chal) != 407 {
		t.Fatalf("first INVITE: %q", chal)
	}
	// The nonce of appPassword's challenge, answered for the other
	// application with its (right) password.
	if got := a.invite(other, digestAnswer(t, chal, other, testPassword)); status(got) != 407 {
		t.Errorf("a nonce sent for another application was taken: %q", got)
	}
	// The same right credentials from another address.
	if got := newUDPPeer(t, "127.0.0.2", addr).invite(appPassword, digestAnswer(t, chal, appPassword, testPassword)); status(got) != 407 {
		t.Errorf("a nonce sent to another address was taken: %q", got)
	}
	// MD5 on a node that offers SHA-256 only.
	md5 := regexp.MustCompile(`algorithm=SHA-256`).ReplaceAllString(chal, "algorithm=MD5")
	if got := a.invite(appPassword, digestAnswer(t, md5, appPassword, testPassword)); status(got) != 401 {
		t.Errorf("MD5 credentials on a SHA-256 node: %q, want 401", got)
	}
	// Wrong passwords past the budget of 3: banned.
	guesser := newUDPPeer(t, "127.0.0.3", addr)
	for i := range 4 {
		c := guesser.invite(appPassword, "")
		if got := guesser.invite(appPassword, digestAnswer(t, c, appPassword, fmt.Sprint("guess", i))); status(got) != 401 {
			t.Fatalf("guess %d: %q", i, got)
		}
	}
	guesser.wait = time.Second
	if got := guesser.invite(appPassword, ""); got != "" {
		t.Errorf("a banned source was answered: %q", got)
	}
	// The honest caller still gets through (a fresh challenge, then 200).
	ok := a.invite(appPassword, "")
	if got := a.invite(appPassword, digestAnswer(t, ok, appPassword, testPassword)); status(got) != 200 {
		t.Errorf("the right password after all that: %q", got)
	}
}

// The node's default challenge is MD5 alone, which every client completes;
// an application may ask for SHA-256 (RFC 8760) and gets it, first. A
// request to no application gets the node's challenge.
func TestDigestAlgorithmsPerApplication(t *testing.T) {
	apps := testApps(t)
	const sha = "0b7c1f6e-5a1d-4c2e-9f1a-0000000000aa"
	apps[sha] = Application{ID: sha, AccountID: "acct-1", InboundEnabled: true, PasswordAuth: true,
		HA1MD5: mustHA1(t, "MD5", sha, testPassword), HA1SHA256: mustHA1(t, "SHA-256", sha, testPassword),
		DigestAlgorithms: []string{algSHA256, algMD5}}
	cfg := testConfig()
	cfg.DigestAlgorithms = nil // the default
	srv, err := NewServer(cfg, apps, newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.ListenAndServe(ctx, "udp", "127.0.0.1:0"); err != nil {
			t.Errorf("listen: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); srv.Close(); wg.Wait() })
	p := newUDPPeer(t, "127.0.0.1", waitListeners(t, srv, 1)["udp"])
	algorithms := func(resp string) []string {
		var out []string
		for _, m := range challengeHd.FindAllStringSubmatch(resp, -1) {
			out = append(out, regexp.MustCompile(`algorithm=([A-Za-z0-9-]+)`).FindStringSubmatch(m[1])[1])
		}
		return out
	}
	for _, tc := range []struct {
		user string
		want string
	}{
		{appPassword, "[MD5]"},
		{sha, "[SHA-256 MD5]"},
		{"0b7c1f6e-5a1d-4c2e-9f1a-0000000000bb", "[MD5]"}, // no such application
	} {
		resp := p.invite(tc.user, "")
		if got := fmt.Sprint(algorithms(resp)); got != tc.want {
			t.Errorf("%s: challenged with %s, want %s", tc.user, got, tc.want)
		}
	}
	// Each completes with the first algorithm offered.
	for _, user := range []string{appPassword, sha} {
		if got := p.invite(user, digestAnswer(t, p.invite(user, ""), user, testPassword)); status(got) != 200 {
			t.Errorf("%s: %q", user, got)
		}
	}
}
