package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var testBind = nonceBinding{target: "app:a", source: netip.MustParseAddr("192.0.2.1"), realm: "sip.example"}

func TestNonce(t *testing.T) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Now()
	nonce := n.issue(now, testBind)
	if nonce == n.issue(now, testBind) {
		t.Fatal("two nonces are equal")
	}
	issued, err := n.verify(nonce, now.Add(30*time.Second), testBind)
	if err != nil || !issued.Equal(time.Unix(0, now.UnixNano())) {
		t.Fatalf("fresh nonce: %v %v", issued, err)
	}
	if _, err := n.verify(nonce, now.Add(61*time.Second), testBind); !errors.Is(err, errNonceStale) {
		t.Fatalf("expired nonce: %v, want stale", err)
	}
	other := newNonceSigner([]byte("another-key-16by"), time.Minute)
	if _, err := other.verify(nonce, now, testBind); !errors.Is(err, errNonceInvalid) {
		t.Fatalf("nonce of another key: %v", err)
	}
	// Flip each character: nothing but the original verifies.
	for i := range nonce {
		b := []byte(nonce)
		b[i] ^= 0x01
		if _, err := n.verify(string(b), now, testBind); err == nil {
			t.Fatalf("tampered nonce (byte %d) verified", i)
		}
	}
	// A nonce is good only for the target, source and realm it was issued to.
	for _, other := range []nonceBinding{
		{target: "app:b", source: testBind.source, realm: testBind.realm},
		{target: "num:+15550001", source: testBind.source, realm: testBind.realm},
		{target: testBind.target, source: netip.MustParseAddr("192.0.2.2"), realm: testBind.realm},
		{target: testBind.target, source: testBind.source, realm: "other.example"},
	} {
		if _, err := n.verify(nonce, now, other); !errors.Is(err, errNonceInvalid) {
			t.Fatalf("nonce for %+v verified for %+v: %v", testBind, other, err)
		}
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("=", 43), nonce + "A"} {
		if _, err := n.verify(bad, now, testBind); !errors.Is(err, errNonceInvalid) {
			t.Fatalf("verify(%q) = %v", bad, err)
		}
	}
}

func FuzzNonceVerify(f *testing.F) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Unix(1_700_000_000, 0)
	f.Add(n.issue(now, testBind))
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add("GOqhH3tNEsJtUEpwsY3o0ZGps8KfQscbxF_auBQz0wU")
	f.Fuzz(func(t *testing.T, s string) {
		issued, err := n.verify(s, now, testBind)
		if err == nil && s != n.issueAt(issued, s) {
			t.Fatalf("unsigned nonce %q verified", s)
		}
	})
}

// issueAt re-signs the body of s; used by the fuzz test to confirm that a
// verified nonce is exactly one this key produced.
func (n *nonceSigner) issueAt(_ time.Time, s string) string {
	var raw [nonceRawLen]byte
	if _, err := nonceEncoding.Decode(raw[:], []byte(s)); err != nil {
		return ""
	}
	n.sign(raw[nonceBodyLen:], raw[:nonceBodyLen], testBind)
	return nonceEncoding.EncodeToString(raw[:])
}

func TestReplayCache(t *testing.T) {
	now := time.Now()
	c := newReplayCache(3, time.Minute)
	if !c.observe("a", now, 1, now) || c.observe("a", now, 1, now) || !c.observe("a", now, 2, now) || c.observe("a", now, 1, now) {
		t.Fatal("nc sequence for one nonce not enforced")
	}
	// Fill beyond capacity: the oldest entries go, and the floor keeps them
	// from being accepted again.
	for i, k := range []string{"b", "c", "d", "e"} {
		if !c.observe(k, now.Add(time.Duration(i+1)*time.Millisecond), 1, now) {
			t.Fatalf("new nonce %s refused", k)
		}
	}
	if len(c.items) > 3 {
		t.Fatalf("cache holds %d entries, max 3", len(c.items))
	}
	if c.observe("a", now, 3, now) {
		t.Fatal("evicted nonce accepted again")
	}
	if c.observe("b", now.Add(time.Millisecond), 1, now) {
		t.Fatal("evicted nonce b accepted again with a replayed nc")
	}
	// Expiry empties the table.
	later := now.Add(2 * time.Minute)
	c.observe("z", later, 1, later)
	if len(c.items) != 1 {
		t.Fatalf("expired entries kept: %d", len(c.items))
	}
}

func TestReplayCacheBounded(t *testing.T) {
	now := time.Now()
	c := newReplayCache(1000, time.Hour)
	for i := 0; i < 100000; i++ {
		ts := now.Add(time.Duration(i) * time.Microsecond)
		c.observe(ts.String(), ts, 1, now)
	}
	if len(c.items) > 1000 || len(c.order) > 4096 {
		t.Fatalf("cache grew: %d items, %d order slots", len(c.items), len(c.order))
	}
}

func BenchmarkNonceIssue(b *testing.B) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		n.issue(now, testBind)
	}
}

func BenchmarkNonceVerify(b *testing.B) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Now()
	nonce := n.issue(now, testBind)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.verify(nonce, now, testBind); err != nil {
			b.Fatal(err)
		}
	}
}
