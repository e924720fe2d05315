package sipdest

import (
	"regexp"
	"strings"
)

// e164 is a phone number in E.164 form: +, a non-zero digit, up to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// IsE164 reports whether s is a phone number in E.164 form (+15555551212).
func IsE164(s string) bool { return e164.MatchString(s) }

// IsSIPURI reports whether s is a sip: or sips: URI.
func IsSIPURI(s string) bool { return strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:") }

// UserPart returns the user part of a sip:/sips: URI (user@host), or the
// address itself when it has none.
func UserPart(addr string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(addr, "sip:"), "sips:")
	if user, _, ok := strings.Cut(s, "@"); ok {
		return user
	}
	return s
}
