package sip

import (
	"bytes"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const plainInvite = "INVITE sip:app@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n" +
	"Max-Forwards: 70\r\nTo: <sip:app@example.com>\r\nFrom: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710@pc33.example.com\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"

func TestSanitizeRewrites(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", plainInvite, plainInvite},
		{"folded", "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>\r\n ;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n",
			"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n"},
		{"loose", "OPTIONS sip:a@b SIP/2.0\r\nv: SIP / 2.0 / UDP h ; branch = z9hG4bK1\r\nf: \"x ; y\" <sip:c@d> ; tag = 1\r\nt: <sip:a@b>\r\ni: 1\r\nCSeq: 1 OPTIONS\r\n\r\n",
			"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: \"x ; y\" <sip:c@d>;tag=1\r\nt: <sip:a@b>\r\ni: 1\r\nCSeq: 1 OPTIONS\r\n\r\n"},
		{"trailing bytes of a datagram", plainInvite + "junk", plainInvite},
	} {
		out, v := sanitize([]byte(tc.in), true)
		if v.status != 0 || string(out) != tc.want {
			t.Errorf("%s: %+v\n got %q\nwant %q", tc.name, v, out, tc.want)
		}
	}
	// An RFC 2543 Via gets a branch, the same for a retransmission.
	old := []byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:c@d>\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n")
	a, _ := sanitize(old, true)
	b, _ := sanitize(old, true)
	if !bytes.Contains(a, []byte("Via: SIP/2.0/UDP h;branch=z9hG4bK-2543-")) || !bytes.Equal(a, b) {
		t.Errorf("RFC 2543 Via: %q, then %q", a, b)
	}
}

// BenchmarkSanitize is the front door's check of a common INVITE (nothing
// to rewrite), paid on every request before sipgo parses it.
func BenchmarkSanitize(b *testing.B) {
	msg := []byte(plainInvite)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, v := sanitize(msg, true); v.status != 0 {
			b.Fatal(v)
		}
	}
}

// BenchmarkParse is sipgo's parse of the same INVITE, for scale.
func BenchmarkParse(b *testing.B) {
	msg := []byte(plainInvite)
	p := sip.NewParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := p.ParseSIP(msg); err != nil {
			b.Fatal(err)
		}
	}
}
