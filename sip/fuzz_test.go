package sip

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The front door as a datagram meets it: sanitize, then sipgo's parser, then
// the INVITE checks. A refusal comes with a reason and a bounded response
// (or none, when the request has nowhere to answer); what sanitize passes,
// rewritten or not, passes again unchanged.
func FuzzFrontDoor(f *testing.F) {
	files, _ := filepath.Glob("testdata/torture/*.dat")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("INVITE sip:" + appPassword + "@x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-1\r\nTo: <sip:" + appPassword + "@x>\r\n" +
		"From: <sip:a@b>;tag=1\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nRequire: 100rel\r\nContent-Length: 0\r\n\r\n"))
	s := newCheckServer(f)
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, v := sanitize(raw, true)
		if v.status != 0 {
			if v.reason == "" {
				t.Fatalf("refusal %d without a reason", v.status)
			}
			head, _, _ := cutHeader(raw)
			if resp := errorResponse(head, v.status, reasonPhrase(v.status)); resp != nil {
				// The request's own headers are echoed (RFC 3261 §8.2.6.2),
				// malformed or not; the answer is never much larger than
				// the request (no amplification).
				if !bytes.HasPrefix(resp, []byte("SIP/2.0 ")) || !bytes.HasSuffix(resp, []byte("\r\n\r\n")) || len(resp) > len(head)+256 {
					t.Fatalf("our %d: %q", v.status, resp)
				}
			}
			return
		}
		again, v2 := sanitize(out, true)
		if v2.status != 0 || !bytes.Equal(again, out) {
			t.Fatalf("sanitize is not idempotent: %+v\n%q\n%q", v2, out, again)
		}
		msg, err := parser.ParseSIP(out)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Method != sip.INVITE {
			return
		}
		req.SetSource("127.0.0.1:5060")
		if v := s.checkInvite(context.Background(), req, time.Now()); v.status != 0 && v.reason == "" {
			t.Fatalf("refusal without a reason: %d", v.status)
		}
	})
}

// Digest credentials as a client sends them: parsing never panics, and a
// response verifies only when it is the digest of the stored password.
func FuzzDigest(f *testing.F) {
	s := newCheckServer(f)
	uri := "sip:" + appPassword + "@" + testDomain
	f.Add(testCredentials(s, "INVITE", uri, appPassword, testPassword, "SHA-256", 1), "INVITE")
	f.Add(testCredentials(s, "INVITE", uri, appPassword, testPassword, "MD5", 7), "INVITE")
	f.Add(`Digest username="a", realm="`+testDomain+`", nonce="n", uri="sip:x", response="r", qop=auth, nc=00000001, cnonce="c"`, "BYE")
	f.Add(`Digest realm="x", algorithm=SHA-512-256, nc=ffffffff, uri="sip:@"`, "INVITE")
	app := testApps(f)[appPassword]
	var ruri sip.Uri
	if err := sip.ParseUri(uri, &ruri); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, method string) {
		cred, err := digest.ParseCredentials(header)
		if err != nil {
			return
		}
		if verifyDigest(cred, method, &ruri, &app, []string{algSHA256, algMD5}) != nil {
			return
		}
		// It verified: it must be what a client that knows the password
		// computes for these parameters. (The realm and the user name are
		// the stored HA1's; the callers check the header's.)
		chal := &digest.Challenge{Realm: testDomain, Nonce: cred.Nonce, Algorithm: cred.Algorithm, QOP: []string{"auth"}}
		want, err := digest.Digest(chal, digest.Options{Method: method, URI: cred.URI, Username: appPassword,
			Password: testPassword, Count: cred.Nc, Cnonce: cred.Cnonce})
		if err != nil || !strings.EqualFold(want.Response, cred.Response) {
			t.Fatalf("verified a response that is not the password's: %q (%v)", header, err)
		}
	})
}
