// Package sipdest parses the ways people write where a SIP peer lives
// (sip:user@host:5061;transport=tls, sips:host, tls://host, host:port, host)
// into a host, a port and a transport, with the defaults RFC 3263 implies
// when no DNS NAPTR/SRV lookup is made: 5060 over UDP, 5061 over TLS.
package sipdest

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every parse error; the message says what is wrong.
var ErrInvalid = errors.New("invalid SIP destination")

// Transport is a SIP transport.
type Transport string

// The transports a destination may name.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// ParseTransport accepts udp, tcp or tls in any case.
func ParseTransport(s string) (Transport, error) {
	switch t := Transport(strings.ToLower(s)); t {
	case UDP, TCP, TLS:
		return t, nil
	}
	return "", fmt.Errorf("%w: transport %q: use udp, tcp or tls", ErrInvalid, s)
}

// DefaultPort is 5061 for TLS and 5060 otherwise.
func (t Transport) DefaultPort() int {
	if t == TLS {
		return 5061
	}
	return 5060
}

// Destination is a parsed SIP destination.
type Destination struct {
	User      string // user part of a SIP URI, "" when none
	Host      string // host name or IP literal, without brackets
	Port      int
	Transport Transport
	// Explicit reports which parts the input named, so options given
	// elsewhere know what they override.
	PortExplicit, TransportExplicit bool
}

// HostPort is Host and Port joined, with brackets around IPv6 literals.
func (d Destination) HostPort() string {
	h := d.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(d.Port)
}

// URI renders the destination as a SIP URI (sips: for TLS is not used,
// since TLS to the next hop is what transport=tls says).
func (d Destination) URI() string {
	var b strings.Builder
	b.WriteString("sip:")
	if d.User != "" {
		b.WriteString(d.User)
		b.WriteByte('@')
	}
	b.WriteString(d.HostPort())
	if d.Transport != UDP {
		b.WriteString(";transport=")
		b.WriteString(string(d.Transport))
	}
	return b.String()
}

// MaxLen bounds the input, far above any real destination.
const MaxLen = 512

// Parse reads a destination. Accepted forms:
//
//	sip:[user@]host[:port][;transport=udp|tcp|tls][;other params]
//	sips:[user@]host[:port]          (transport tls)
//	udp://host[:port], tcp://…, tls://…
//	host[:port]                      (transport udp)
//
// Host is a DNS name or an IP literal (IPv6 in brackets when a port follows).
func Parse(s string) (Destination, error) {
	if s == "" {
		return Destination{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxLen {
		return Destination{}, fmt.Errorf("%w: longer than %d characters", ErrInvalid, MaxLen)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return Destination{}, fmt.Errorf("%w: %q has a space or control character at offset %d", ErrInvalid, s, i)
	}
	var d Destination
	rest := s
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sips:"):
		d.Transport, d.TransportExplicit = TLS, true
		rest = s[len("sips:"):]
		return parseSIPURI(d, rest, true)
	case strings.HasPrefix(lower, "sip:"):
		d.Transport = UDP
		return parseSIPURI(d, s[len("sip:"):], false)
	case strings.Contains(s, "://"):
		scheme, after, _ := strings.Cut(s, "://")
		t, err := ParseTransport(scheme)
		if err != nil {
			return Destination{}, fmt.Errorf("%w: scheme %q: use sip:, sips:, udp://, tcp:// or tls://", ErrInvalid, scheme+"://")
		}
		d.Transport, d.TransportExplicit = t, true
		after = strings.TrimSuffix(after, "/")
		if strings.ContainsAny(after, "/?#;@") {
			return Destination{}, fmt.Errorf("%w: %q: after %s:// only host[:port] may follow", ErrInvalid, s, scheme)
		}
		return finishHostPort(d, after)
	}
	if strings.ContainsAny(s, "/?#;@") {
		return Destination{}, fmt.Errorf("%w: %q is neither a SIP URI nor host[:port]", ErrInvalid, s)
	}
	if c := strings.Count(s, ":"); c > 1 && !strings.HasPrefix(s, "[") {
		// A bare IPv6 address: no port can be told apart, so it is all host.
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			d.Transport, d.Host, d.Port = UDP, a.String(), UDP.DefaultPort()
			return d, nil
		}
	}
	d.Transport = UDP
	return finishHostPort(d, s)
}

func parseSIPURI(d Destination, rest string, secure bool) (Destination, error) {
	if h, _, ok := strings.Cut(rest, "?"); ok {
		rest = h // URI headers (?Subject=…) are not part of the destination
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		d.User = hostport[:at]
		if d.User == "" {
			return Destination{}, fmt.Errorf("%w: empty user part before @", ErrInvalid)
		}
		if u, _, hasPW := strings.Cut(d.User, ":"); hasPW {
			d.User = u // user:password@ is deprecated (RFC 3261 19.1.1) and never used to route
		}
		hostport = hostport[at+1:]
	}
	for p := range strings.SplitSeq(params, ";") {
		name, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(name, "transport") {
			continue
		}
		t, err := ParseTransport(val)
		if err != nil {
			return Destination{}, err
		}
		if secure && t != TLS {
			return Destination{}, fmt.Errorf("%w: sips: needs TLS, but transport=%s was given", ErrInvalid, val)
		}
		d.Transport, d.TransportExplicit = t, true
	}
	return finishHostPort(d, hostport)
}

func finishHostPort(d Destination, hp string) (Destination, error) {
	host, port, err := splitHostPort(hp)
	if err != nil {
		return Destination{}, err
	}
	if err := checkHost(host); err != nil {
		return Destination{}, err
	}
	d.Host = host
	if port == "" {
		d.Port = d.Transport.DefaultPort()
		return d, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return Destination{}, fmt.Errorf("%w: port %q: must be a number from 1 to 65535", ErrInvalid, port)
	}
	d.Port, d.PortExplicit = n, true
	return d, nil
}

func splitHostPort(hp string) (host, port string, err error) {
	if hp == "" {
		return "", "", fmt.Errorf("%w: no host", ErrInvalid)
	}
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%w: %q: IPv6 literal without closing ]", ErrInvalid, hp)
		}
		host, rest := hp[1:end], hp[end+1:]
		a, perr := netip.ParseAddr(host)
		if perr != nil || !a.Is6() {
			return "", "", fmt.Errorf("%w: %q is not an IPv6 address", ErrInvalid, host)
		}
		switch {
		case rest == "":
			return a.String(), "", nil
		case strings.HasPrefix(rest, ":"):
			if rest == ":" {
				return "", "", fmt.Errorf("%w: empty port after %q", ErrInvalid, hp[:end+1])
			}
			return a.String(), rest[1:], nil
		}
		return "", "", fmt.Errorf("%w: %q: unexpected %q after the IPv6 literal", ErrInvalid, hp, rest)
	}
	host, port, hasPort := strings.Cut(hp, ":")
	if strings.Contains(port, ":") {
		return "", "", fmt.Errorf("%w: %q: IPv6 addresses need brackets, as in [2001:db8::1]:5060", ErrInvalid, hp)
	}
	if hasPort && port == "" {
		return "", "", fmt.Errorf("%w: empty port after %q", ErrInvalid, host+":")
	}
	return host, port, nil
}

// checkHost accepts an IPv4/IPv6 literal or a DNS name (RFC 1123 labels;
// underscores are tolerated since some PBXs use them in internal names).
func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("%w: no host", ErrInvalid)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("%w: host is longer than 253 characters", ErrInvalid)
	}
	name := strings.TrimSuffix(h, ".")
	allDigits := true
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("%w: host %q has an empty label", ErrInvalid, h)
		}
		if len(label) > 63 {
			return fmt.Errorf("%w: host %q has a label longer than 63 characters", ErrInvalid, h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w: host %q: a label may not start or end with -", ErrInvalid, h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				allDigits = false
			default:
				return fmt.Errorf("%w: host %q: character %q is not allowed in a host name", ErrInvalid, h, c)
			}
		}
	}
	if allDigits {
		return fmt.Errorf("%w: host %q looks like an IPv4 address but is not a valid one", ErrInvalid, h)
	}
	return nil
}

// WithOverrides applies a port and transport chosen elsewhere (the options
// of a SIP configuration): they win over what the URI says. A transport
// change without a port moves the default port with it.
func (d Destination) WithOverrides(port int, transport Transport) Destination {
	if transport != "" {
		if !d.PortExplicit && port == 0 {
			d.Port = transport.DefaultPort()
		}
		d.Transport, d.TransportExplicit = transport, true
	}
	if port != 0 {
		d.Port, d.PortExplicit = port, true
	}
	return d
}
