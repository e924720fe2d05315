// Package headermap holds the Bland-style SIP header mapping rules, as pure
// functions: on an inbound INVITE they turn SIP headers into call variables,
// on an outbound INVITE they turn call variables into SIP headers.
//
// A rule is one of three kinds:
//
//	{type: custom, key: "X-Header", value: "Variable"}  header <-> variable
//	{passthrough: true, key: "K", value: "V"}            a literal pair
//	{type: uui, target, purpose, encoding, content}      a User-to-User header (RFC 7433)
//
// Inbound, custom copies the header's value into the variable, passthrough
// injects K=V as a variable, and uui decodes a matching User-to-User header
// into the target variable. Outbound, custom writes the variable's value into
// the header, passthrough adds the header K: V, and uui encodes the target
// variable into User-to-User: <hex>;encoding=hex;purpose=…;content=….
package headermap

import (
	"fmt"
	"strings"
)

// Direction says which way a set of rules works.
type Direction string

// The two directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Type is a rule's kind.
type Type string

// Rule types; a passthrough rule may leave Type empty.
const (
	TypeCustom Type = "custom"
	TypeUUI    Type = "uui"
)

// Encoding of a User-to-User payload.
type Encoding string

// The UUI encodings: hex (RFC 7433's only defined one) and ascii (the text
// carried as is, which some PBXs send).
const (
	EncodingHex   Encoding = "hex"
	EncodingASCII Encoding = "ascii"
)

// Rule is one mapping rule, with the JSON field names of the API.
type Rule struct {
	Type        Type     `json:"type,omitempty" enum:"custom,uui" doc:"custom (header <-> variable) or uui (User-to-User header); may be omitted when passthrough is true."`
	Key         string   `json:"key,omitempty" maxLength:"128" example:"X-Customer-Id" doc:"SIP header name (custom, passthrough)."`
	Value       string   `json:"value,omitempty" maxLength:"1024" example:"customer_id" doc:"Variable name (custom) or literal value (passthrough)."`
	Passthrough bool     `json:"passthrough,omitempty" doc:"Inbound: inject key=value as a variable as is. Outbound: add the header key: value as given."`
	Target      string   `json:"target,omitempty" maxLength:"128" example:"crm_id" doc:"uui: the variable decoded into (inbound) or encoded from (outbound)."`
	Purpose     string   `json:"purpose,omitempty" maxLength:"64" example:"bland" doc:"uui: the purpose parameter to match or send."`
	Encoding    Encoding `json:"encoding,omitempty" enum:"hex,ascii" doc:"uui: payload encoding; hex by default."`
	Content     string   `json:"content,omitempty" maxLength:"64" example:"id" doc:"uui: the content parameter to match or send."`
}

// MaxRules bounds the rules of one direction.
const MaxRules = 50

// RuleError says which rule is wrong and why; Field is relative to the rule
// list, e.g. "[2].key".
type RuleError struct {
	Index  int
	Field  string // the rule's JSON field, "" for the rule as a whole
	Reason string
}

func (e *RuleError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("[%d]: %s", e.Index, e.Reason)
	}
	return fmt.Sprintf("[%d].%s: %s", e.Index, e.Field, e.Reason)
}

// Path is the error's location below a list, e.g. "headers[2].key".
func (e *RuleError) Path(list string) string {
	if e.Field == "" {
		return fmt.Sprintf("%s[%d]", list, e.Index)
	}
	return fmt.Sprintf("%s[%d].%s", list, e.Index, e.Field)
}

// reserved are headers a mapping must never set on an outbound INVITE: the
// dialog, routing, authentication and body framing belong to the SIP stack.
var reserved = map[string]bool{
	"via": true, "v": true, "from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true,
	"cseq": true, "contact": true, "m": true, "max-forwards": true, "content-length": true, "l": true,
	"content-type": true, "c": true, "route": true, "record-route": true, "authorization": true,
	"proxy-authorization": true, "www-authenticate": true, "proxy-authenticate": true, "expires": true,
	"content-encoding": true, "e": true, "require": true, "supported": true, "k": true,
}

// Validate checks the rules of one direction and returns a *RuleError.
func Validate(rules []Rule, dir Direction) error {
	if len(rules) > MaxRules {
		return &RuleError{Index: MaxRules, Reason: fmt.Sprintf("at most %d rules, got %d", MaxRules, len(rules))}
	}
	for i, r := range rules {
		if field, reason := r.check(dir); reason != "" {
			return &RuleError{Index: i, Field: field, Reason: reason}
		}
	}
	return nil
}

func (r Rule) check(dir Direction) (field, reason string) {
	switch {
	case r.Passthrough:
		if r.Type != "" && r.Type != TypeCustom {
			return "type", "a passthrough rule is a plain key/value pair; type must be omitted or custom"
		}
		if dir == Outbound {
			if msg := checkHeaderName(r.Key); msg != "" {
				return "key", msg
			}
		} else if msg := checkVariable(r.Key); msg != "" {
			return "key", msg
		}
		if msg := checkHeaderValue(r.Value); msg != "" {
			return "value", msg
		}
	case r.Type == TypeCustom:
		if msg := checkHeaderName(r.Key); msg != "" {
			return "key", msg
		}
		if msg := checkVariable(r.Value); msg != "" {
			return "value", msg
		}
	case r.Type == TypeUUI:
		if msg := checkVariable(r.Target); msg != "" {
			return "target", msg
		}
		switch r.Encoding {
		case "", EncodingHex, EncodingASCII:
		default:
			return "encoding", fmt.Sprintf("%q: use hex or ascii", r.Encoding)
		}
		if len(r.Purpose) > 64 {
			return "purpose", "longer than 64 characters"
		}
		if len(r.Content) > 64 {
			return "content", "longer than 64 characters"
		}
		if r.Purpose != "" && !isToken(r.Purpose) {
			return "purpose", fmt.Sprintf("%q is not a SIP token (letters, digits and -.!%%*_+`'~)", r.Purpose)
		}
		if r.Content != "" && !isToken(r.Content) {
			return "content", fmt.Sprintf("%q is not a SIP token (letters, digits and -.!%%*_+`'~)", r.Content)
		}
		if r.Key != "" && !strings.EqualFold(r.Key, UUIHeader) {
			return "key", fmt.Sprintf("uui rules always use the %s header; omit key", UUIHeader)
		}
	case r.Type == "":
		return "type", "required: custom or uui (or passthrough: true)"
	default:
		return "type", fmt.Sprintf("%q: use custom or uui (or passthrough: true)", r.Type)
	}
	return "", ""
}

func checkHeaderName(k string) string {
	switch {
	case k == "":
		return "required: a SIP header name such as X-Customer-Id"
	case len(k) > 128:
		return "longer than 128 characters"
	case !isToken(k):
		return fmt.Sprintf("%q is not a valid SIP header name (letters, digits and -.!%%*_+`'~)", k)
	case reserved[strings.ToLower(k)]:
		return fmt.Sprintf("%s is managed by the SIP stack and cannot be mapped", k)
	}
	return ""
}

func checkHeaderValue(v string) string {
	if len(v) > 1024 {
		return "longer than 1024 characters"
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return "must not contain CR, LF or NUL"
	}
	return ""
}

// checkVariable accepts names usable in BXML and JSON without quoting pains.
func checkVariable(v string) string {
	if v == "" {
		return "required: a variable name such as customer_id"
	}
	if len(v) > 128 {
		return "longer than 128 characters"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Sprintf("%q: a variable name uses letters, digits, _, - and . only", v)
		}
	}
	return ""
}

// isToken reports whether s is an RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return false
		}
	}
	return true
}

func tokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}
