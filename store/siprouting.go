package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// SIP trunking (issue 7): phone numbers attached to SIP configurations for
// inbound and outbound routing, reusable trunks, header mappings. The rules
// of the Bland-style /v1/sip API live here; api maps them to HTTP and server
// reads the routes (InboundSIPRoutes, OutboundSIPRoute) to place and accept calls.

// FeatureSIP is the account feature (entitlement) that unlocks SIP trunking.
const FeatureSIP = "sip"

// FeatureAdmin lets an account operate the node itself (list and lift the
// flood guard's bans); the account made at first start has it.
const FeatureAdmin = "admin"

// Limits of the SIP routing API.
const (
	MaxNumbersPerRequest       = 100
	MaxConfigurationsPerNumber = 10
	minRegisterPasswordLen     = 8
)

// ErrTrunkInUse is returned when deleting a trunk that numbers are still bound to.
var ErrTrunkInUse = fmt.Errorf("trunk has bound numbers: %w", ErrConflict)

// AuthMode is how calls from a customer's side are authorized.
type AuthMode string

// Inbound authorization modes.
const (
	AuthIP       AuthMode = "ip"       // by source address
	AuthRegister AuthMode = "register" // digest against register credentials; the server also registers to the PBX
)

// SIPOptions are the connection options of a configuration or trunk.
type SIPOptions struct {
	Port        int               // 0: from the endpoint URI
	Transport   sipdest.Transport // "": from the endpoint URI
	SecureMedia bool              // SRTP (SDES) on the media
	SIPUsername string            // digest credentials to answer the peer's challenges with
	SIPPassword string            // clear in memory, sealed at rest
}

// RegisterAuth are the register-mode credentials; the password is clear in
// memory and sealed at rest, because the server needs it to register.
type RegisterAuth struct {
	Username string
	Password string
}

// SIPConfiguration is one direction of one phone number's SIP routing,
// optionally bound to a trunk whose settings it inherits.
type SIPConfiguration struct {
	ID          string
	AccountID   string
	PhoneNumber string // E.164, or a DID/extension when trunk-bound
	Direction   headermap.Direction
	TrunkID     string // "" when not bound to a trunk
	SIPEndpoint string // as given; "" when none (inbound forwarding off, or inherited)
	Options     SIPOptions
	AuthMode    AuthMode // inbound only
	Register    RegisterAuth
	// ApplicationID is the voice application that answers calls from the
	// trunk to the number (inbound only); "" when none is set yet.
	ApplicationID string
	Headers       []headermap.Rule
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PBXPassword is the register-mode password the customer configures in
// their PBX, derived from the given one (see DeriveRegisterPassword); "" in ip mode.
func (c SIPConfiguration) PBXPassword() string {
	if c.AuthMode != AuthRegister {
		return ""
	}
	return DeriveRegisterPassword(c.Register.Username, c.Register.Password)
}

// DeriveRegisterPassword derives the password a PBX is configured with from
// the register_auth password sent to the API: the server registers and
// answers challenges with it, so the API password itself never reaches the
// wire, and one derivation serves every number of a request.
func DeriveRegisterPassword(username, password string) string {
	m := hmac.New(sha256.New, []byte(password))
	m.Write([]byte("wasmvoice register v1\x00" + username))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:24]
}

// SIPTrunk holds an endpoint, auth and options once for many numbers.
type SIPTrunk struct {
	ID          string
	AccountID   string
	Name        string
	SIPEndpoint string
	Options     SIPOptions
	AuthMode    AuthMode
	Register    RegisterAuth
	NumberCount int // numbers bound to the trunk (read only)
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PBXPassword is the trunk's derived register password, "" in ip mode.
func (t SIPTrunk) PBXPassword() string {
	if t.AuthMode != AuthRegister {
		return ""
	}
	return DeriveRegisterPassword(t.Register.Username, t.Register.Password)
}

// ---- rules ----

// NormalizePhoneNumber returns the E.164 form of a phone number: formatting
// (spaces, dashes, dots, parentheses) is dropped, 00 becomes +, and ten- or
// eleven-digit North American numbers without + get +1. When the number is
// bound to a trunk, anything not written with + or 00 is a DID or extension
// (a SIP user part) and is kept as given.
func NormalizePhoneNumber(s string, trunkBound bool) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("empty")
	}
	if len(in) > 64 {
		return "", errors.New("longer than 64 characters")
	}
	international := strings.HasPrefix(in, "+") || strings.HasPrefix(in, "00")
	if trunkBound && !international {
		for _, c := range in {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("*#._-", c)) {
				return "", fmt.Errorf("%q: a DID or extension uses digits, letters and * # . _ - only", s)
			}
		}
		return in, nil
	}
	var digits strings.Builder
	for i, c := range in {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			hint := ""
			if !trunkBound {
				hint = " (DIDs and extensions need trunk_id)"
			}
			return "", fmt.Errorf("%q is not an E.164 phone number such as +14150000000%s", s, hint)
		}
	}
	d := digits.String()
	switch {
	case strings.HasPrefix(in, "+"):
	case strings.HasPrefix(in, "00"):
		d = d[2:]
	case len(d) == 10 && d[0] >= '2':
		d = "1" + d
	case len(d) == 11 && d[0] == '1':
	default:
		hint := ""
		if !trunkBound {
			hint = "; DIDs and extensions need trunk_id"
		}
		return "", fmt.Errorf("%q is not an E.164 phone number: write it as + and country code, such as +14150000000%s", s, hint)
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%q is not an E.164 phone number: + then 8 to 15 digits, not starting with 0", s)
	}
	return "+" + d, nil
}
