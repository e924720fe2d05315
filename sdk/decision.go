package sdk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Action is what a SIP hook decides to do with the request.
type Action uint8

// Actions. The zero value (ActionNone) is what call events answer: they
// carry BXML instead.
const (
	ActionNone Action = iota
	ActionContinue
	ActionReject
	ActionRoute
)

var actionNames = [...]string{ActionNone: "", ActionContinue: "continue", ActionReject: "reject", ActionRoute: "route"}

// String returns the wire name.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// MarshalText writes the wire name.
func (a Action) MarshalText() ([]byte, error) {
	if a == ActionNone || int(a) >= len(actionNames) {
		return nil, fmt.Errorf("sdk: cannot encode %v", a)
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText reads the wire name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if i > 0 && n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown action %q", ErrInvalidDecision, b)
}

// Decision is a module's answer to one event. Call events answer BXML; SIP
// hooks answer an Action with header and variable changes; any event may
// answer Error instead.
type Decision struct {
	V    int    `json:"v"`
	BXML string `json:"bxml,omitempty"`

	Action Action `json:"action,omitempty"`
	// Status and Reason are the SIP final response for ActionReject.
	Status int    `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// SetHeaders are added to (or replace) headers on the request.
	SetHeaders map[string]string `json:"setHeaders,omitempty"`
	// RemoveHeaders are removed from the request.
	RemoveHeaders []string `json:"removeHeaders,omitempty"`
	// Variables are attached to the call (merged over existing ones).
	Variables map[string]string `json:"variables,omitempty"`
	// ApplicationID is the application to route to for ActionRoute.
	ApplicationID string `json:"applicationId,omitempty"`

	// Error reports that the module could not handle the event; the host
	// treats it as a module failure (webhook fallback or application-error).
	Error string `json:"error,omitempty"`

	// Unhandled says the module has no handler for the event's type (the
	// SDK answers so for a call event nothing registered with On). It
	// carries nothing else; the host then stops sending that type to this
	// upload of the module, so an event a module ignores costs no guest run.
	Unhandled bool `json:"unhandled,omitempty"`
}

// BXML answers a call event with a BXML document (for example the output of
// the bxml builder).
func BXML(doc string) Decision { return Decision{V: ABIVersion, BXML: doc} }

// Continue lets a SIP request proceed.
func Continue() Decision { return Decision{V: ABIVersion, Action: ActionContinue} }

// Reject answers a SIP request with a final status (400-699).
func Reject(status int, reason string) Decision {
	return Decision{V: ABIVersion, Action: ActionReject, Status: status, Reason: reason}
}

// Route sends an inbound request to another application.
func Route(applicationID string) Decision {
	return Decision{V: ABIVersion, Action: ActionRoute, ApplicationID: applicationID}
}

// Fail answers any event with an error.
func Fail(err error) Decision {
	msg := "error"
	if err != nil {
		msg = err.Error()
	}
	return Decision{V: ABIVersion, Error: msg}
}

// SetHeader returns d with a header to set.
func (d Decision) SetHeader(name, value string) Decision {
	m := make(map[string]string, len(d.SetHeaders)+1)
	for k, v := range d.SetHeaders {
		m[k] = v
	}
	m[name] = value
	d.SetHeaders = m
	return d
}

// RemoveHeader returns d with a header to remove.
func (d Decision) RemoveHeader(name string) Decision {
	d.RemoveHeaders = append(append([]string(nil), d.RemoveHeaders...), name)
	return d
}

// SetVariable returns d with a call variable to attach.
func (d Decision) SetVariable(name, value string) Decision {
	m := make(map[string]string, len(d.Variables)+1)
	for k, v := range d.Variables {
		m[k] = v
	}
	m[name] = value
	d.Variables = m
	return d
}

// MarshalJSON writes the wire form (the same bytes encoding/json would
// produce for the struct tags above, without reflection: guests call it on
// every event).
func (d Decision) MarshalJSON() ([]byte, error) {
	if int(d.Action) >= len(actionNames) {
		return nil, fmt.Errorf("sdk: cannot encode %v", d.Action)
	}
	return d.appendJSON(make([]byte, 0, 64+len(d.BXML))), nil
}

func (d Decision) appendJSON(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(d.V), 10)
	str := func(key, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, key...)
			b = append(b, '"', ':')
			b = appendJSONString(b, v)
		}
	}
	strMap := func(key string, m map[string]string) {
		if len(m) == 0 {
			return
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, `":{`...)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, m[k])
		}
		b = append(b, '}')
	}
	str("bxml", d.BXML)
	str("action", actionNames[d.Action])
	if d.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(d.Status), 10)
	}
	str("reason", d.Reason)
	strMap("setHeaders", d.SetHeaders)
	if len(d.RemoveHeaders) > 0 {
		b = append(b, `,"removeHeaders":[`...)
		for i, h := range d.RemoveHeaders {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h)
		}
		b = append(b, ']')
	}
	strMap("variables", d.Variables)
	str("applicationId", d.ApplicationID)
	str("error", d.Error)
	if d.Unhandled {
		b = append(b, `,"unhandled":true`...)
	}
	return append(b, '}')
}

// ErrInvalidDecision is what Validate wraps.
var ErrInvalidDecision = errors.New("invalid decision")

// Validate checks d as an answer to an event of type t: the version, that
// call events carry no action and SIP hooks carry one, reject statuses, and
// header names and values that could not be written into a SIP message
// safely. Which headers an application may touch is the call engine's rule,
// not checked here.
func (d Decision) Validate(t EventType) error {
	if d.V != ABIVersion {
		return fmt.Errorf("%w: v is %d, want %d", ErrInvalidDecision, d.V, ABIVersion)
	}
	if d.Error != "" {
		return nil
	}
	if d.Unhandled {
		if t.IsSIP() || d.BXML != "" || len(d.Variables) > 0 {
			return fmt.Errorf("%w: unhandled is for a call event and carries nothing else", ErrInvalidDecision)
		}
		return nil
	}
	if !t.IsSIP() {
		if d.Action != ActionNone || d.Status != 0 || len(d.SetHeaders) > 0 || len(d.RemoveHeaders) > 0 || d.ApplicationID != "" {
			return fmt.Errorf("%w: %s event answers bxml, not a SIP action", ErrInvalidDecision, t)
		}
		return validateVars(d.Variables)
	}
	if d.BXML != "" {
		return fmt.Errorf("%w: %s answers an action, not bxml", ErrInvalidDecision, t)
	}
	switch d.Action {
	case ActionContinue:
	case ActionReject:
		if d.Status < 400 || d.Status > 699 {
			return fmt.Errorf("%w: reject status %d outside 400-699", ErrInvalidDecision, d.Status)
		}
	case ActionRoute:
		if t != EventSIPInbound {
			return fmt.Errorf("%w: route is only valid for %s", ErrInvalidDecision, EventSIPInbound)
		}
		if d.ApplicationID == "" {
			return fmt.Errorf("%w: route without applicationId", ErrInvalidDecision)
		}
	default:
		return fmt.Errorf("%w: %s needs an action", ErrInvalidDecision, t)
	}
	if d.Action != ActionReject && (d.Status != 0 || d.Reason != "") {
		return fmt.Errorf("%w: status and reason only go with reject", ErrInvalidDecision)
	}
	if strings.ContainsAny(d.Reason, "\r\n\x00") {
		return fmt.Errorf("%w: reason contains a line break or NUL", ErrInvalidDecision)
	}
	for k, v := range d.SetHeaders {
		if !isToken(k) {
			return fmt.Errorf("%w: header name %q is not a SIP token", ErrInvalidDecision, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("%w: value of header %s contains a line break or NUL", ErrInvalidDecision, k)
		}
	}
	for _, k := range d.RemoveHeaders {
		if !isToken(k) {
			return fmt.Errorf("%w: header name %q is not a SIP token", ErrInvalidDecision, k)
		}
	}
	return validateVars(d.Variables)
}

func validateVars(vars map[string]string) error {
	for k := range vars {
		if k == "" {
			return fmt.Errorf("%w: empty variable name", ErrInvalidDecision)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 3261 token, the grammar of header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
