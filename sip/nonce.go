package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Nonce layout before base64url: 8 bytes issue time (unix ns, big endian),
// 8 bytes counter, 16 bytes truncated HMAC-SHA-256 of the first 16 bytes and
// of what the nonce is bound to (the application or number challenged, the
// source address, the realm). The counter makes each nonce unique; the MAC
// makes it unforgeable and useless for another target or from another
// address, so the server keeps no state for nonces it hands out.
const (
	nonceBodyLen = 16
	nonceMACLen  = 16
	nonceRawLen  = nonceBodyLen + nonceMACLen
)

var nonceEncoding = base64.RawURLEncoding.Strict()

var (
	errNonceInvalid = errors.New("nonce invalid")
	errNonceStale   = errors.New("nonce stale")
)

type nonceSigner struct {
	ttl     time.Duration
	counter atomic.Uint64
	macs    sync.Pool // hash.Hash keyed with the nonce key
}

func newNonceSigner(key []byte, ttl time.Duration) *nonceSigner {
	k := append([]byte(nil), key...)
	n := &nonceSigner{ttl: ttl}
	n.macs.New = func() any { return hmac.New(sha256.New, k) }
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err == nil {
		n.counter.Store(binary.BigEndian.Uint64(seed[:]))
	}
	return n
}

// nonceBinding is what a nonce is good for: the target challenged ("app:"
// and an application ID, "num:" and a number), the address the challenge
// went to, and the realm.
type nonceBinding struct {
	target string
	source netip.Addr
	realm  string
}

func (n *nonceSigner) sign(dst, body []byte, b nonceBinding) {
	m := n.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	src := b.source.Unmap().As16()
	m.Write(src[:])
	var lens [4]byte
	binary.BigEndian.PutUint16(lens[0:2], uint16(len(b.target)))
	binary.BigEndian.PutUint16(lens[2:4], uint16(len(b.realm)))
	m.Write(lens[:])
	m.Write([]byte(b.target))
	m.Write([]byte(b.realm))
	var sum [sha256.Size]byte
	copy(dst, m.Sum(sum[:0])[:nonceMACLen])
	n.macs.Put(m)
}

// issue returns a fresh nonce stamped with now, bound to b.
func (n *nonceSigner) issue(now time.Time, b nonceBinding) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[0:8], uint64(now.UnixNano()))
	binary.BigEndian.PutUint64(raw[8:16], n.counter.Add(1))
	n.sign(raw[nonceBodyLen:], raw[:nonceBodyLen], b)
	return nonceEncoding.EncodeToString(raw[:])
}

// verify checks the nonce's MAC (for binding b) and age. It returns the issue
// time, and errNonceStale for a genuine but expired nonce, errNonceInvalid
// for anything not signed by this key for b.
func (n *nonceSigner) verify(nonce string, now time.Time, b nonceBinding) (time.Time, error) {
	if nonceEncoding.EncodedLen(nonceRawLen) != len(nonce) {
		return time.Time{}, errNonceInvalid
	}
	var raw [nonceRawLen]byte
	if _, err := nonceEncoding.Decode(raw[:], []byte(nonce)); err != nil {
		return time.Time{}, errNonceInvalid
	}
	var want [nonceMACLen]byte
	n.sign(want[:], raw[:nonceBodyLen], b)
	if !hmac.Equal(want[:], raw[nonceBodyLen:]) {
		return time.Time{}, errNonceInvalid
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[0:8])))
	age := now.Sub(issued)
	// A nonce from the future is only possible with a clock step; treat it
	// like an expired one so the client simply retries.
	if age > n.ttl || age < -time.Minute {
		return issued, errNonceStale
	}
	return issued, nil
}
