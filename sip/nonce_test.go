package sip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNonce(t *testing.T) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Now()
	nonce := n.issue(now)
	if nonce == n.issue(now) {
		t.Fatal("two nonces are equal")
	}
	issued, err := n.verify(nonce, now.Add(30*time.Second))
	if err != nil || !issued.Equal(time.Unix(0, now.UnixNano())) {
		t.Fatalf("fresh nonce: %v %v", issued, err)
	}
	if _, err := n.verify(nonce, now.Add(61*time.Second)); !errors.Is(err, errNonceStale) {
		t.Fatalf("expired nonce: %v, want stale", err)
	}
	other := newNonceSigner([]byte("another-key-16by"), time.Minute)
	if _, err := other.verify(nonce, now); !errors.Is(err, errNonceInvalid) {
		t.Fatalf("nonce of another key: %v", err)
	}
	// Flip each character: nothing but the original verifies.
	for i := range nonce {
		b := []byte(nonce)
		b[i] ^= 0x01
		if _, err := n.verify(string(b), now); err == nil {
			t.Fatalf("tampered nonce (byte %d) verified", i)
		}
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("=", 43), nonce + "A"} {
		if _, err := n.verify(bad, now); !errors.Is(err, errNonceInvalid) {
			t.Fatalf("verify(%q) = %v", bad, err)
		}
	}
}

func FuzzNonceVerify(f *testing.F) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Unix(1_700_000_000, 0)
	f.Add(n.issue(now))
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add("GOqhH3tNEsJtUEpwsY3o0ZGps8KfQscbxF_auBQz0wU")
	f.Fuzz(func(t *testing.T, s string) {
		issued, err := n.verify(s, now)
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
	n.sign(raw[nonceBodyLen:], raw[:nonceBodyLen])
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
		n.issue(now)
	}
}

func BenchmarkNonceVerify(b *testing.B) {
	n := newNonceSigner([]byte("0123456789abcdef"), time.Minute)
	now := time.Now()
	nonce := n.issue(now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.verify(nonce, now); err != nil {
			b.Fatal(err)
		}
	}
}
