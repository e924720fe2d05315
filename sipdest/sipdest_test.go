package sipdest

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in        string
		host      string
		port      int
		transport Transport
		user      string
		errHint   string
	}{
		{in: "sip:user@host.example.com:5061;transport=tls", host: "host.example.com", port: 5061, transport: TLS, user: "user"},
		{in: "sip:+14155550100@carrier.example.com", host: "carrier.example.com", port: 5060, transport: UDP, user: "+14155550100"},
		{in: "sip:carrier.example.com", host: "carrier.example.com", port: 5060, transport: UDP},
		{in: "SIP:carrier.example.com;TRANSPORT=TCP", host: "carrier.example.com", port: 5060, transport: TCP},
		{in: "sip:carrier.example.com;transport=tls", host: "carrier.example.com", port: 5061, transport: TLS},
		{in: "sip:carrier.example.com;lr;transport=tcp?Subject=x", host: "carrier.example.com", port: 5060, transport: TCP},
		{in: "sips:pbx.example.com", host: "pbx.example.com", port: 5061, transport: TLS},
		{in: "sips:alice@pbx.example.com:5071", host: "pbx.example.com", port: 5071, transport: TLS, user: "alice"},
		{in: "tls://pbx.example.com", host: "pbx.example.com", port: 5061, transport: TLS},
		{in: "TCP://pbx.example.com:5080", host: "pbx.example.com", port: 5080, transport: TCP},
		{in: "udp://203.0.113.7:5062/", host: "203.0.113.7", port: 5062, transport: UDP},
		{in: "203.0.113.7:5080", host: "203.0.113.7", port: 5080, transport: UDP},
		{in: "pbx.example.com", host: "pbx.example.com", port: 5060, transport: UDP},
		{in: "pbx.example.com.", host: "pbx.example.com.", port: 5060, transport: UDP},
		{in: "[2001:db8::1]:5070", host: "2001:db8::1", port: 5070, transport: UDP},
		{in: "sip:[2001:db8::1];transport=tls", host: "2001:db8::1", port: 5061, transport: TLS},
		{in: "2001:db8::1", host: "2001:db8::1", port: 5060, transport: UDP},
		{in: "sip:bob:secret@pbx.example.com", host: "pbx.example.com", port: 5060, transport: UDP, user: "bob"},

		{in: "", errHint: "empty"},
		{in: "sip:", errHint: "no host"},
		{in: "sip:@host", errHint: "empty user part"},
		{in: "sips:pbx.example.com;transport=udp", errHint: "sips: needs TLS"},
		{in: "sip:pbx.example.com;transport=ws", errHint: `transport "ws": use udp, tcp or tls`},
		{in: "http://pbx.example.com", errHint: `scheme "http://"`},
		{in: "tls://pbx.example.com/path", errHint: "only host[:port]"},
		{in: "pbx.example.com:0", errHint: `port "0": must be a number from 1 to 65535`},
		{in: "pbx.example.com:65536", errHint: "from 1 to 65535"},
		{in: "pbx.example.com:+5", errHint: "from 1 to 65535"},
		{in: "pbx.example.com:sip", errHint: `port "sip"`},
		{in: "pbx.example.com:", errHint: "empty port"},
		{in: ":5060", errHint: "no host"},
		{in: "pbx example.com", errHint: "space or control character at offset 3"},
		{in: "pbx_ex!ample.com", errHint: `character '!'`},
		{in: "-pbx.example.com", errHint: "may not start or end with -"},
		{in: "pbx..example.com", errHint: "empty label"},
		{in: "999.1.1.1", errHint: "not a valid one"},
		{in: "[2001:db8::1", errHint: "without closing ]"},
		{in: "[203.0.113.1]:5060", errHint: "is not an IPv6 address"},
		{in: "[2001:db8::1]x", errHint: "unexpected"},
		{in: "2001:db8::1:99999", errHint: "need brackets"},
		{in: "user@pbx.example.com", errHint: "neither a SIP URI nor host[:port]"},
		{in: strings.Repeat("a", MaxLen+1), errHint: "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := Parse(tc.in)
			if tc.errHint != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errHint) {
					t.Fatalf("Parse(%q) = %+v, %v; want error containing %q", tc.in, d, err, tc.errHint)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if d.Host != tc.host || d.Port != tc.port || d.Transport != tc.transport || d.User != tc.user {
				t.Fatalf("Parse(%q) = %+v; want host %q port %d transport %s user %q", tc.in, d, tc.host, tc.port, tc.transport, tc.user)
			}
		})
	}
}

func TestOverridesAndURI(t *testing.T) {
	d, _ := Parse("sip:carrier.example.com")
	if got := d.WithOverrides(0, TLS); got.Port != 5061 || got.Transport != TLS {
		t.Fatalf("tls override: %+v", got)
	}
	d, _ = Parse("sip:carrier.example.com:5080")
	if got := d.WithOverrides(0, TLS); got.Port != 5080 {
		t.Fatalf("explicit port lost: %+v", got)
	}
	if got := d.WithOverrides(5090, ""); got.Port != 5090 || got.Transport != UDP {
		t.Fatalf("port override: %+v", got)
	}
	d, _ = Parse("tls://[2001:db8::1]")
	if u := d.URI(); u != "sip:[2001:db8::1]:5061;transport=tls" {
		t.Fatalf("URI: %s", u)
	}
	if u, _ := Parse("sip:+1415@h"); u.URI() != "sip:+1415@h:5060" {
		t.Fatalf("URI: %s", u.URI())
	}
}

// Parse never panics, and what it accepts renders to a URI that parses back
// to the same destination.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sip:user@host:5061;transport=tls", "sips:h", "tls://h", "h:1", "h", "[::1]:5060",
		"sip:[::1]", "::1", "sip:a@b@c", "udp://", "sip:h;transport=", "1.2.3.4:70000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if d.Port < 1 || d.Port > 65535 || d.Host == "" {
			t.Fatalf("Parse(%q) accepted %+v", s, d)
		}
		if d.User != "" && strings.ContainsAny(d.User, ";?") {
			return // not a SIP-URI user; rendering it is not a round trip
		}
		back, err := Parse(d.URI())
		if err != nil || back.Host != d.Host || back.Port != d.Port || back.Transport != d.Transport {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, d.URI(), back, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("sip:+14155550100@carrier.example.com:5061;transport=tls"); err != nil {
			b.Fatal(err)
		}
	}
}
