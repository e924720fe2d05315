package media

import (
	"bytes"
	"testing"
)

func TestParseCrypto(t *testing.T) {
	k, err := newSDESKey(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{k.attribute(), true},
		{k.attribute() + "|2^31", true},      // a lifetime is fine
		{k.attribute() + "|2^20|1:4", false}, // an MKI is not
		{k.attribute() + " KDR=1", false},    // session parameters are not
		{"1 AES_CM_128_HMAC_SHA1_32 inline:" + k.attribute()[len("1 AES_CM_128_HMAC_SHA1_80 inline:"):], false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=", false}, // a short key
		{"x AES_CM_128_HMAC_SHA1_80 inline:", false},
		{"", false},
	} {
		if _, ok := parseCrypto(tc.v); ok != tc.ok {
			t.Errorf("parseCrypto(%q) ok = %v, want %v", tc.v, ok, tc.ok)
		}
	}
}

// a=crypto values from a peer: a key we take is 30 bytes, and renders back
// to a value that parses to the same key.
func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkzNjMkVEx1NzYiMzE0NDEw")
	f.Add("2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkzNjMkVEx1NzYiMzE0NDEw|2^31")
	f.Add("1 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkzNjMkVEx1NzYiMzE0NDEw UNENCRYPTED_SRTP")
	f.Fuzz(func(t *testing.T, v string) {
		k, ok := parseCrypto(v)
		if !ok {
			return
		}
		if len(k.key) != 16 || len(k.salt) != 14 {
			t.Fatalf("key %d bytes, salt %d", len(k.key), len(k.salt))
		}
		back, ok := parseCrypto(k.attribute())
		if !ok || back.tag != k.tag || !bytes.Equal(back.key, k.key) || !bytes.Equal(back.salt, k.salt) {
			t.Fatalf("%q renders as %q, which parses to %+v", v, k.attribute(), back)
		}
	})
}
