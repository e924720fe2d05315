package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const (
	testDomain   = "sip.test.example"
	testPassword = "s3cret-Pass-123"

	appPassword = "0b7c1f6e-5a1d-4c2e-9f1a-000000000001"
	appIPOnly   = "0b7c1f6e-5a1d-4c2e-9f1a-000000000002"
	appBadIP    = "0b7c1f6e-5a1d-4c2e-9f1a-000000000003"
	appEU       = "0b7c1f6e-5a1d-4c2e-9f1a-000000000004"
	appDisabled = "0b7c1f6e-5a1d-4c2e-9f1a-000000000005"
)

// memApps is an in-memory Applications.
type memApps map[string]Application

func (m memApps) SIPApplication(_ context.Context, id string) (Application, error) {
	a, ok := m[id]
	if !ok {
		return Application{}, ErrApplicationNotFound
	}
	return a, nil
}

func mustHA1(t testing.TB, alg, user, pw string) string {
	t.Helper()
	h, err := HA1(alg, user, testDomain, pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testApps(t testing.TB) memApps {
	pw := func(id string) Application {
		return Application{ID: id, AccountID: "acct-1", InboundEnabled: true, PasswordAuth: true,
			HA1MD5: mustHA1(t, "MD5", id, testPassword), HA1SHA256: mustHA1(t, "SHA-256", id, testPassword)}
	}
	ipOnly := Application{ID: appIPOnly, AccountID: "acct-1", InboundEnabled: true,
		AllowedSourceIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	badIP := pw(appBadIP)
	badIP.AllowedSourceIPs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	eu := pw(appEU)
	eu.AllowedRegions = []string{"EU", "ASIA"}
	disabled := pw(appDisabled)
	disabled.InboundEnabled = false
	return memApps{appPassword: pw(appPassword), appIPOnly: ipOnly, appBadIP: badIP, appEU: eu, appDisabled: disabled}
}

// testEngine is the smallest real call engine: it rings, answers with an
// SDP and keeps the call until either side hangs up. Every call is sent on
// calls for the test to inspect.
type testEngine struct {
	answer bool // false: ring and wait (for CANCEL tests)
	calls  chan *InboundCall
}

func newTestEngine(answer bool) *testEngine {
	return &testEngine{answer: answer, calls: make(chan *InboundCall, 64)}
}

const testSDP = "v=0\r\no=wasmvoice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func (e *testEngine) HandleInvite(ctx context.Context, c *InboundCall) {
	select {
	case e.calls <- c:
	default:
	}
	if err := c.Ringing(); err != nil {
		return
	}
	if !e.answer {
		<-ctx.Done()
		return
	}
	actx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	if err := c.Answer(actx, []byte(testSDP)); err != nil {
		return
	}
	<-ctx.Done()
}

type testEnv struct {
	srv      *Server
	udp, tcp string // bound addresses
	engine   *testEngine
}

func testLogger() *slog.Logger {
	if os.Getenv("WASMVOICE_SIP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig() Config {
	return Config{
		Domain:         testDomain,
		Region:         "US",
		AdvertisedHost: "127.0.0.1",
		NonceKey:       []byte("0123456789abcdef0123456789abcdef"),
		// A node that enabled SHA-256 (the default is MD5 alone: see
		// TestDigestAlgorithmsPerApplication).
		DigestAlgorithms: []string{algSHA256, algMD5},
		Logger:           testLogger(),
	}
}

// startServer runs a server with UDP and TCP listeners on free loopback
// ports until the test ends.
func startServer(t *testing.T, cfg Config, h Handler, networks ...string) (*Server, map[string]string) {
	t.Helper()
	srv, err := NewServer(cfg, testApps(t), h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if len(networks) == 0 {
		networks = []string{"udp", "tcp"}
	}
	for _, n := range networks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ListenAndServe(ctx, n, "127.0.0.1:0"); err != nil {
				t.Errorf("listen %s: %v", n, err)
			}
		}()
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		wg.Wait()
	})
	addrs := waitListeners(t, srv, len(networks))
	return srv, addrs
}

func waitListeners(t *testing.T, srv *Server, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ls := srv.Listeners(); len(ls) >= n && srv.Ready() {
			m := map[string]string{}
			for _, l := range ls {
				m[l.Network] = l.Addr
			}
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("listeners not up: %v", srv.Listeners())
	return nil
}

// newSippEnv starts a server for sipp, which answers only the first
// challenge and only MD5: MD5 is offered first.
func newSippEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEngine(true)
	cfg := testConfig()
	cfg.DigestAlgorithms = []string{"MD5", "SHA-256"}
	srv, addrs := startServer(t, cfg, e)
	return &testEnv{srv: srv, udp: addrs["udp"], tcp: addrs["tcp"], engine: e}
}

// testCert makes a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wasmvoice test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// waitCall returns the next call the engine saw.
func (e *testEngine) waitCall(t *testing.T) *InboundCall {
	t.Helper()
	select {
	case c := <-e.calls:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no call reached the engine")
		return nil
	}
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not end", what)
	}
}

// testCredentials signs a nonce with srv's key, as if challenged from
// 127.0.0.1 for the Request-URI uri, and computes a digest
// Proxy-Authorization value for it, as a client would.
func testCredentials(srv *Server, method, uri, user, password, alg string, nc int) string {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		panic(err)
	}
	target := "app:" + u.User
	if isNumberUser(u.User) {
		target = "num:" + u.User
	}
	nonce := srv.nonces.issue(time.Now(), nonceBinding{target: target, source: netip.MustParseAddr("127.0.0.1"), realm: srv.cfg.Domain})
	chal := &digest.Challenge{Realm: srv.cfg.Domain, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Username: user, Password: password, Count: nc, Cnonce: "0a4f113b"})
	if err != nil {
		panic(err)
	}
	return cred.String()
}

// newTestEnv starts a server with the default configuration.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEngine(true)
	srv, addrs := startServer(t, testConfig(), e)
	return &testEnv{srv: srv, udp: addrs["udp"], tcp: addrs["tcp"], engine: e}
}
