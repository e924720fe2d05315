package sip

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/guard"
)

// Behind a trusted proxy the original source decides the allowlist (and
// everything else keyed on the source); from anyone else the header is
// ignored, so a caller cannot choose its own address.
func TestProxySource(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	s, err := NewServer(cfg, testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cases := []struct {
		name       string
		o          reqOpts
		status     int
		wantSource string
	}{
		{"trusted_proxy_allowed_caller", reqOpts{source: "198.51.100.9:5060", proxySource: "127.0.0.5:5071"}, 0, "127.0.0.5:5071"},
		{"trusted_proxy_bare_ip", reqOpts{source: "198.51.100.9:5060", proxySource: "127.0.0.5"}, 0, "127.0.0.5:0"},
		{"trusted_proxy_refused_caller", reqOpts{source: "198.51.100.9:5060", proxySource: "203.0.113.7:5060"}, 401, "203.0.113.7:5060"},
		{"trusted_proxy_without_header", reqOpts{source: "198.51.100.9:5060"}, 401, "198.51.100.9:5060"},
		{"trusted_proxy_malformed_header", reqOpts{source: "198.51.100.9:5060", proxySource: "not-an-address"}, 401, "198.51.100.9:5060"},
		{"untrusted_source_cannot_claim_an_address", reqOpts{source: "192.0.2.1:5060", proxySource: "127.0.0.5:5071"}, 401, "192.0.2.1:5060"},
		{"untrusted_header_ignored_either_way", reqOpts{source: "127.0.0.1:5070", proxySource: "203.0.113.7:5060"}, 0, "127.0.0.1:5070"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.app, c.o.maxForwards = appIPOnly, 70
			v := s.checkInvite(context.Background(), parseInvite(t, c.o), time.Now())
			if v.status != c.status || v.source.String() != c.wantSource {
				t.Fatalf("got %d %q from %s, want %d from %s", v.status, v.reason, v.source, c.status, c.wantSource)
			}
		})
	}
}

// The proxy's header leaves the request with the X-* headers, and is not
// one of them for mapping: the application never sees it.
func TestProxySourceHeaderIsStripped(t *testing.T) {
	req := parseInvite(t, reqOpts{app: appIPOnly, maxForwards: 70, xHeaders: true, proxySource: "127.0.0.5:5071"})
	clean, xs := stripXHeaders(req)
	for _, x := range xs {
		if x.Name == SourceHeader {
			t.Fatalf("%s among the mapped headers: %v", SourceHeader, xs)
		}
	}
	if len(xs) != 3 || clean.GetHeader(SourceHeader) != nil {
		t.Fatalf("mapped %v; left %v", xs, clean.GetHeader(SourceHeader))
	}
}

// Nodes sharing a database share the nonce key: a challenge one node sent
// is answered at another (a retried INVITE that the proxy sends elsewhere,
// its first node having died) — and only with the right key.
func TestNonceFromAnotherNode(t *testing.T) {
	a, b := newCheckServer(t), newCheckServer(t)
	ruri := "sip:" + appPassword + "@" + testDomain
	auth := testCredentials(a, "INVITE", ruri, appPassword, testPassword, "MD5", 1)
	if v := b.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: auth}), time.Now()); v.status != 0 {
		t.Fatalf("node B refused node A's nonce: %d %s (%v)", v.status, v.reason, v.err)
	}
	cfg := testConfig()
	cfg.NonceKey = []byte("another key of a node on another database")
	other, err := NewServer(cfg, testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if v := other.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appPassword, maxForwards: 70, auth: auth}), time.Now()); v.status == 0 {
		t.Fatal("a node with another key accepted the nonce")
	}
}

// Behind a proxy the guard's packet-level drop sees only the proxy, so a
// caller the guard banned is refused at the front door by its own address.
func TestProxySourceBannedCaller(t *testing.T) {
	cfg := testConfig()
	proxy := netip.MustParsePrefix("198.51.100.0/24")
	cfg.TrustedProxies = []netip.Prefix{proxy}
	cfg.Guard = guard.New(guard.Config{Zone: "sip", Trusted: []netip.Prefix{proxy}, Logger: testLogger()})
	s, err := NewServer(cfg, testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg.Guard.Ban(netip.MustParseAddr("127.0.0.66"), time.Minute)
	invite := func(caller string) verdict {
		return s.checkInvite(context.Background(), parseInvite(t, reqOpts{app: appIPOnly, maxForwards: 70, source: "198.51.100.9:5060", proxySource: caller}), time.Now())
	}
	if v := invite("127.0.0.66:5060"); v.status != 403 || v.reason != reasonBanned {
		t.Fatalf("a banned caller through the proxy: %d %q", v.status, v.reason)
	}
	if v := invite("127.0.0.67:5060"); v.status != 0 {
		t.Fatalf("another caller through the proxy: %d %q", v.status, v.reason)
	}
}
