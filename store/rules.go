package store

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// KnownRegions are the region codes a node and an application may name.
var KnownRegions = []string{"US", "EU", "ASIA"}

// MaxAllowedSourceIPs is the most CIDRs one application may allow.
const MaxAllowedSourceIPs = 25

// ValidationError says which field of a change is wrong and why.
type ValidationError struct {
	Field  string // JSON name, e.g. "allowedSourceIps[2]"
	Value  any
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field string, value any, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// DigestAlgorithms are the digest algorithms an Inbound SIP URI may
// challenge with (both HA1 values are stored for every password).
var DigestAlgorithms = []string{"MD5", "SHA-256"}

// ValidateDigestAlgorithms checks a list of digest algorithms (known, no
// repeats; empty means the node default) and returns it canonical.
func ValidateDigestAlgorithms(algs []string) ([]string, error) {
	out := []string{}
	for _, a := range algs {
		i := slices.IndexFunc(DigestAlgorithms, func(k string) bool { return strings.EqualFold(k, a) })
		if i < 0 {
			return nil, invalid("sipDigestAlgorithms", algs, "unknown algorithm %q (known: MD5, SHA-256)", a)
		}
		if slices.Contains(out, DigestAlgorithms[i]) {
			return nil, invalid("sipDigestAlgorithms", algs, "%s is listed twice", DigestAlgorithms[i])
		}
		out = append(out, DigestAlgorithms[i])
	}
	return out, nil
}

// ApplicationPatch is a partial change: nil fields stay as they are.
type ApplicationPatch struct {
	Name                        *string
	CallInitiatedCallbackURL    *string
	CallInitiatedMethod         *string
	CallInitiatedFallbackURL    *string
	CallInitiatedFallbackMethod *string
	CallStatusCallbackURL       *string
	CallStatusCallbackMethod    *string
	CallbackUsername            *string
	CallbackPassword            *string
	InboundSIPEnabled           *bool
	PasswordAuthEnabled         *bool
	AllowedSourceIPs            *[]string
	AllowedRegions              *[]string
	SIPDigestAlgorithms         *[]string
	Module                      ModuleBindingPatch
	MaxConcurrentCalls          *int
}

// MaxApplicationCalls bounds an application's maxConcurrentCalls.
const MaxApplicationCalls = 100_000

// Apply changes a by p under the rules of the Inbound SIP URI guide. It
// returns the newly generated SIP password when p enables password auth
// (shown to the caller once, never stored), and leaves a untouched on error.
func (p ApplicationPatch) Apply(a *Application, sipDomain string) (sipPassword string, err error) {
	n := *a
	if p.MaxConcurrentCalls != nil {
		if v := *p.MaxConcurrentCalls; v < 0 || v > MaxApplicationCalls {
			return "", invalid("maxConcurrentCalls", v, "must be between 0 (the node default) and %d", MaxApplicationCalls)
		}
		n.MaxConcurrentCalls = *p.MaxConcurrentCalls
	}
	if p.SIPDigestAlgorithms != nil {
		algs, err := ValidateDigestAlgorithms(*p.SIPDigestAlgorithms)
		if err != nil {
			return "", err
		}
		n.SIPDigestAlgorithms = algs
	}
	if p.Name != nil {
		if strings.TrimSpace(*p.Name) == "" {
			return "", invalid("applicationName", *p.Name, "must not be empty")
		}
		if len(*p.Name) > 256 {
			return "", invalid("applicationName", *p.Name, "must be at most 256 characters")
		}
		n.Name = *p.Name
	}
	urls := []struct {
		field string
		in    *string
		out   *string
	}{
		{"callInitiatedCallbackUrl", p.CallInitiatedCallbackURL, &n.CallInitiatedCallbackURL},
		{"callInitiatedFallbackUrl", p.CallInitiatedFallbackURL, &n.CallInitiatedFallbackURL},
		{"callStatusCallbackUrl", p.CallStatusCallbackURL, &n.CallStatusCallbackURL},
	}
	for _, u := range urls {
		if u.in == nil {
			continue
		}
		if err := checkCallbackURL(u.field, *u.in); err != nil {
			return "", err
		}
		*u.out = *u.in
	}
	methods := []struct {
		field string
		in    *string
		out   *string
	}{
		{"callInitiatedMethod", p.CallInitiatedMethod, &n.CallInitiatedMethod},
		{"callInitiatedFallbackMethod", p.CallInitiatedFallbackMethod, &n.CallInitiatedFallbackMethod},
		{"callStatusCallbackMethod", p.CallStatusCallbackMethod, &n.CallStatusCallbackMethod},
	}
	for _, m := range methods {
		if m.in == nil {
			continue
		}
		v := strings.ToUpper(*m.in)
		if v != "POST" && v != "GET" {
			return "", invalid(m.field, *m.in, "must be POST or GET")
		}
		*m.out = v
	}
	if p.CallbackUsername != nil {
		n.CallbackUsername = *p.CallbackUsername
	}
	if p.CallbackPassword != nil {
		n.CallbackPassword = *p.CallbackPassword
	}
	if err := p.Module.apply(&n.ModuleBinding); err != nil {
		return "", err
	}
	pw, err := p.applyInboundSIP(&n, sipDomain)
	if err != nil {
		return "", err
	}
	*a = n
	return pw, nil
}

func (p ApplicationPatch) applyInboundSIP(n *Application, sipDomain string) (string, error) {
	if p.InboundSIPEnabled != nil && !*p.InboundSIPEnabled {
		if p.PasswordAuthEnabled != nil && *p.PasswordAuthEnabled {
			return "", invalid("passwordAuthEnabled", true, "cannot be enabled while inboundSipCallsEnabled is false")
		}
		// Disabling forgets everything, so re-enabling starts clean with a new password.
		n.InboundSIPEnabled = false
		n.PasswordAuthEnabled = false
		n.SIPHA1MD5, n.SIPHA1SHA256 = "", ""
		n.AllowedSourceIPs = []string{}
		n.AllowedRegions = []string{}
		return "", nil
	}
	enabling := p.InboundSIPEnabled != nil && *p.InboundSIPEnabled && !n.InboundSIPEnabled
	if !n.InboundSIPEnabled && !enabling {
		switch {
		case p.PasswordAuthEnabled != nil && *p.PasswordAuthEnabled:
			return "", invalid("passwordAuthEnabled", true, "inbound SIP calls are disabled; send inboundSipCallsEnabled: true in the same request")
		case p.AllowedSourceIPs != nil && len(*p.AllowedSourceIPs) > 0:
			return "", invalid("allowedSourceIps", *p.AllowedSourceIPs, "inbound SIP calls are disabled; send inboundSipCallsEnabled: true in the same request")
		case p.AllowedRegions != nil && len(*p.AllowedRegions) > 0:
			return "", invalid("allowedRegions", *p.AllowedRegions, "inbound SIP calls are disabled; send inboundSipCallsEnabled: true in the same request")
		}
		return "", nil
	}
	n.InboundSIPEnabled = true
	if p.AllowedSourceIPs != nil {
		ips, err := ValidateSourceIPs(*p.AllowedSourceIPs)
		if err != nil {
			return "", err
		}
		n.AllowedSourceIPs = ips
	}
	if p.AllowedRegions != nil {
		rs, err := validateRegions(*p.AllowedRegions)
		if err != nil {
			return "", err
		}
		n.AllowedRegions = rs
	} else if enabling {
		n.AllowedRegions = slices.Clone(KnownRegions)
	}
	var password string
	if p.PasswordAuthEnabled != nil {
		n.PasswordAuthEnabled = *p.PasswordAuthEnabled
		n.SIPHA1MD5, n.SIPHA1SHA256 = "", ""
		if *p.PasswordAuthEnabled {
			// Every request that sends true rotates: the old password stops working at once.
			pw, err := newSIPPassword()
			if err != nil {
				return "", err
			}
			password = pw
			n.SIPHA1MD5, n.SIPHA1SHA256 = DigestHA1(n.ID, sipDomain, pw)
		}
	}
	if !n.PasswordAuthEnabled && len(n.AllowedSourceIPs) == 0 {
		// Name the field the request sent, with the value it sent.
		field, value := "inboundSipCallsEnabled", any(true)
		switch {
		case enabling:
		case p.AllowedSourceIPs != nil:
			field, value = "allowedSourceIps", *p.AllowedSourceIPs
		default:
			field, value = "passwordAuthEnabled", n.PasswordAuthEnabled
		}
		return "", invalid(field, value, "inbound SIP calls need passwordAuthEnabled: true or at least one allowedSourceIps entry")
	}
	return password, nil
}

func checkCallbackURL(field, v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 2048 {
		return invalid(field, v, "must be at most 2048 characters")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field, v, "must be an absolute http:// or https:// URL")
	}
	return nil
}

func validateRegions(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, invalid("allowedRegions", in, "must name at least one region (%s)", strings.Join(KnownRegions, ", "))
	}
	out := make([]string, 0, len(in))
	for i, r := range in {
		r = strings.ToUpper(strings.TrimSpace(r))
		if !slices.Contains(KnownRegions, r) {
			return nil, invalid(fmt.Sprintf("allowedRegions[%d]", i), in[i], "unknown region %q (known: %s)", in[i], strings.Join(KnownRegions, ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// nonPublic lists the IPv4 ranges a source allowlist must not name, each with
// the reason the caller is told.
var nonPublic = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "is the 'this network' range (RFC 1122), not a public address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "is a private range (RFC 1918); allow the public address your traffic comes from"},
	{netip.MustParsePrefix("100.64.0.0/10"), "is carrier-grade NAT shared space (RFC 6598), not a public address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "is loopback, not a public address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "is link-local, not a public address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "is a private range (RFC 1918); allow the public address your traffic comes from"},
	{netip.MustParsePrefix("192.0.0.0/24"), "is reserved for IETF protocol assignments, not a public address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "is a private range (RFC 1918); allow the public address your traffic comes from"},
	{netip.MustParsePrefix("198.18.0.0/15"), "is reserved for benchmarking (RFC 2544), not a public address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "is multicast, not a unicast range"},
	{netip.MustParsePrefix("240.0.0.0/4"), "is reserved (and holds the broadcast address), not a public address"},
}

// ValidateSourceCIDR checks one allowlist entry and returns its canonical form.
func ValidateSourceCIDR(s string) (string, error) {
	if !strings.Contains(s, "/") {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return "", fmt.Errorf("%q has no prefix length; for one address write %s/32", s, s)
		}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an IPv4 CIDR such as 203.0.113.0/24", s)
	}
	if !p.Addr().Is4() {
		return "", fmt.Errorf("%q is IPv6; only IPv4 CIDRs are supported", s)
	}
	if m := p.Masked(); m != p {
		return "", fmt.Errorf("%q has host bits set; did you mean %s?", s, m)
	}
	if p.Bits() == 0 {
		return p.String(), nil // 0.0.0.0/0: any source, explicitly asked for
	}
	for _, np := range nonPublic {
		if np.prefix.Bits() <= p.Bits() && np.prefix.Contains(p.Addr()) {
			return "", fmt.Errorf("%q %s", s, np.why)
		}
	}
	return p.String(), nil
}

// ValidateSourceIPs checks a whole allowlist: at most 25 canonical public IPv4
// CIDRs without repeats.
func ValidateSourceIPs(in []string) ([]string, error) {
	if len(in) > MaxAllowedSourceIPs {
		return nil, invalid("allowedSourceIps", len(in), "at most %d entries, got %d", MaxAllowedSourceIPs, len(in))
	}
	out := make([]string, 0, len(in))
	for i, s := range in {
		c, err := ValidateSourceCIDR(s)
		if err != nil {
			return nil, invalid(fmt.Sprintf("allowedSourceIps[%d]", i), s, "%s", err.Error())
		}
		if slices.Contains(out, c) {
			return nil, invalid(fmt.Sprintf("allowedSourceIps[%d]", i), s, "%q is listed twice", s)
		}
		out = append(out, c)
	}
	return out, nil
}

// DigestHA1 returns the RFC 7616 / RFC 8760 HA1 values (lowercase hex of
// H(username:realm:password)) for MD5 and SHA-256: all the front door needs
// to check a digest, so the password itself is never stored.
func DigestHA1(username, realm, password string) (md5hex, sha256hex string) {
	in := []byte(username + ":" + realm + ":" + password)
	m := md5.Sum(in)
	s := sha256.Sum256(in)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// newSIPPassword makes a 24-character password (about 140 bits) from an
// alphabet without look-alike characters, safe in any SIP client's config.
func newSIPPassword() (string, error) {
	b := make([]byte, 24)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate SIP password: %w", err)
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}
