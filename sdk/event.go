package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// EventType names an event: the two SIP hooks and the Bandwidth callback
// event types (the "eventType" of a webhook).
type EventType string

// Event types the call engine sends: the SIP hooks, and every Bandwidth
// callback event the engine produces (bxml.EventType lists the same names).
const (
	EventSIPInbound           EventType = "sip.inbound"
	EventSIPOutbound          EventType = "sip.outbound"
	EventSIPRefer             EventType = "sip.refer"
	EventInitiate             EventType = "initiate"
	EventAnswer               EventType = "answer"
	EventGather               EventType = "gather"
	EventDTMF                 EventType = "dtmf"
	EventRecordComplete       EventType = "recordComplete"
	EventRecordingReady       EventType = "recordingAvailable"
	EventTransferAnswer       EventType = "transferAnswer"
	EventTransferComplete     EventType = "transferComplete"
	EventTransferDisconn      EventType = "transferDisconnect"
	EventBridgeComplete       EventType = "bridgeComplete"
	EventBridgeTargetComplete EventType = "bridgeTargetComplete"
	EventRedirect             EventType = "redirect"
	EventDisconnect           EventType = "disconnect"

	EventMachineDetectionComplete EventType = "machineDetectionComplete"
	EventTranscriptionReady       EventType = "transcriptionAvailable"
	EventReferComplete            EventType = "referComplete"
)

// IsSIP reports whether t is one of the SIP hooks, which are answered with an
// Action rather than BXML.
func (t EventType) IsSIP() bool {
	return t == EventSIPInbound || t == EventSIPOutbound || t == EventSIPRefer
}

// Event is what the host hands to a module. On the wire it is one flat JSON
// object: {"v":1,"event":"<type>","variables":{...}, <fields>}.
type Event struct {
	// V is the ABI version (1).
	V int
	// Type is the wire "event" member.
	Type EventType
	// Fields holds every other top-level member as encoding/json decodes it
	// (strings, float64, bool, maps, slices). For call events these are the
	// Bandwidth callback fields (callId, from, to, digits, tag, cause, ...).
	// For SIP hooks the request members live in SIP instead.
	//
	// In a module (events delivered by Dispatch) Fields is nil, because
	// decoding every member costs more than most handlers spend: String and
	// Value decode one member on demand, AllFields all of them.
	Fields map[string]any
	// Variables are the call's variables (for sip.inbound: those a trunk's
	// inbound header mappings set, if any).
	Variables map[string]string
	// SIP is set for sip.inbound, sip.outbound and sip.refer.
	SIP *SIPRequest

	lazy *lazyFields // members not yet decoded (Dispatch)
}

// Value returns a top-level member as encoding/json decodes it into an
// any, or nil when it is missing.
func (e Event) Value(key string) any {
	if v, ok := e.Fields[key]; ok {
		return v
	}
	if m, ok := e.lazy.find(key); ok {
		return e.lazy.value(m)
	}
	return nil
}

// AllFields returns every member Fields would hold: Fields itself, or for
// an event Dispatch delivered, a new map with every member decoded.
func (e Event) AllFields() map[string]any {
	if e.lazy == nil {
		return e.Fields
	}
	out := make(map[string]any, len(e.Fields)+len(e.lazy.members))
	for k, v := range e.Fields {
		out[k] = v
	}
	for _, m := range e.lazy.members {
		if _, ok := out[m.key]; !ok {
			out[m.key] = e.lazy.value(m)
		}
	}
	return out
}

// SIPRequest is the request a SIP hook sees. Its members are flat in the
// event JSON (method, requestUri, from, to, source, headers, xHeaders).
type SIPRequest struct {
	Method     string `json:"method"`
	RequestURI string `json:"requestUri"`
	// From and To are the full header values.
	From string `json:"from"`
	To   string `json:"to"`
	// Source is the transport source address (ip:port) of the request.
	Source string `json:"source,omitempty"`
	// Headers are all headers after the front door stripped X-* headers,
	// keyed by canonical name.
	Headers map[string][]string `json:"headers,omitempty"`
	// XHeaders are the raw X-* headers the front door stripped, so a mapping
	// can use them deliberately.
	XHeaders map[string][]string `json:"xHeaders,omitempty"`
}

// Header returns the first value of a header (name as keyed by the host,
// compared case-insensitively).
func (r *SIPRequest) Header(name string) string { return firstValue(r.Headers, name) }

// XHeader returns the first raw value of a stripped X-* header.
func (r *SIPRequest) XHeader(name string) string { return firstValue(r.XHeaders, name) }

func firstValue(m map[string][]string, name string) string {
	if v, ok := m[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range m {
		if len(v) > 0 && equalFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b))
}

// isReserved reports the envelope members, which never appear in Fields.
// (Switches, not maps: a map lookup hashes the name, which a guest feels.)
func isReserved(k string) bool {
	switch k {
	case "v", "event", "variables":
		return true
	}
	return false
}

// isSIPKey reports the members that belong to SIPRequest on SIP hooks.
func isSIPKey(k string) bool {
	switch k {
	case "method", "requestUri", "from", "to", "source", "headers", "xHeaders":
		return true
	}
	return false
}

// String returns a field as a string: strings as they are, numbers and
// booleans formatted, anything else (or a missing field) as "".
func (e Event) String(key string) string {
	if _, ok := e.Fields[key]; !ok {
		if m, ok := e.lazy.find(key); ok {
			if s, ok := e.lazy.str(m); ok {
				return s
			}
		}
	}
	switch v := e.Value(key).(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// CallID is the call's id (Bandwidth "callId").
func (e Event) CallID() string { return e.String("callId") }

// From is the calling party: the callback "from", or the From header on SIP hooks.
func (e Event) From() string {
	if e.SIP != nil {
		return e.SIP.From
	}
	return e.String("from")
}

// To is the called party: the callback "to", or the To header on SIP hooks.
func (e Event) To() string {
	if e.SIP != nil {
		return e.SIP.To
	}
	return e.String("to")
}

// Digits are the digits a gather collected.
func (e Event) Digits() string { return e.String("digits") }

// Tag is the call's tag.
func (e Event) Tag() string { return e.String("tag") }

// Cause is the disconnect or transfer cause.
func (e Event) Cause() string { return e.String("cause") }

// EventType is the Bandwidth "eventType" field (normally equal to Type).
func (e Event) EventType() string { return e.String("eventType") }

// Variable returns a call variable.
func (e Event) Variable(name string) string { return e.Variables[name] }

// MarshalJSON writes the flat wire form.
func (e Event) MarshalJSON() ([]byte, error) {
	fields := e.AllFields()
	m := make(map[string]any, len(fields)+10)
	for k, v := range fields {
		if isReserved(k) || (e.SIP != nil && isSIPKey(k)) {
			continue
		}
		m[k] = v
	}
	if e.SIP != nil {
		m["method"] = e.SIP.Method
		m["requestUri"] = e.SIP.RequestURI
		m["from"] = e.SIP.From
		m["to"] = e.SIP.To
		if e.SIP.Source != "" {
			m["source"] = e.SIP.Source
		}
		if len(e.SIP.Headers) > 0 {
			m["headers"] = e.SIP.Headers
		}
		if len(e.SIP.XHeaders) > 0 {
			m["xHeaders"] = e.SIP.XHeaders
		}
	}
	v := e.V
	if v == 0 {
		v = ABIVersion
	}
	m["v"] = v
	m["event"] = e.Type
	if len(e.Variables) > 0 {
		m["variables"] = e.Variables
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the flat wire form. Unknown members land in Fields.
func (e *Event) UnmarshalJSON(b []byte) error {
	m, err := parseJSONObject(b)
	if err != nil {
		return fmt.Errorf("sdk: event: %w", err)
	}
	*e = Event{}
	if err := e.fromEnvelope(m); err != nil {
		return err
	}
	isSIP := e.SIP != nil
	// The parsed object becomes Fields once the envelope (and, for SIP
	// hooks, the request members) are taken out: no second map.
	for k := range m {
		if isReserved(k) || (isSIP && isSIPKey(k)) {
			delete(m, k)
		}
	}
	if len(m) > 0 {
		e.Fields = m
	}
	return nil
}

// fromEnvelope sets V, Type, Variables and (for SIP hooks) SIP from the
// decoded members m.
func (e *Event) fromEnvelope(m map[string]any) error {
	if v, ok := m["v"]; ok && v != nil {
		f, ok := v.(float64)
		if !ok || f != float64(int(f)) {
			return fmt.Errorf("sdk: event member v: want an integer, got %v", v)
		}
		e.V = int(f)
	}
	t, err := stringMember(m, "event")
	if err != nil {
		return err
	}
	e.Type = EventType(t)
	if e.Variables, err = stringMap(m, "variables"); err != nil {
		return err
	}
	if e.Type.IsSIP() {
		r := &SIPRequest{}
		for _, f := range []struct {
			key string
			dst *string
		}{{"method", &r.Method}, {"requestUri", &r.RequestURI}, {"from", &r.From}, {"to", &r.To}, {"source", &r.Source}} {
			if *f.dst, err = stringMember(m, f.key); err != nil {
				return err
			}
		}
		if r.Headers, err = headerMap(m, "headers"); err != nil {
			return err
		}
		if r.XHeaders, err = headerMap(m, "xHeaders"); err != nil {
			return err
		}
		e.SIP = r
	}
	return nil
}

func stringMember(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("sdk: event member %s: want a string, got %T", key, v)
	}
}

func stringMap(m map[string]any, key string) (map[string]string, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			s, ok := x.(string)
			if !ok && x != nil {
				return nil, fmt.Errorf("sdk: event member %s.%s: want a string, got %T", key, k, x)
			}
			out[k] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("sdk: event member %s: want an object, got %T", key, v)
	}
}

func headerMap(m map[string]any, key string) (map[string][]string, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string][]string, len(v))
		for k, x := range v {
			switch vals := x.(type) {
			case nil:
				out[k] = nil
			case []any:
				ss := make([]string, len(vals))
				for i, y := range vals {
					s, ok := y.(string)
					if !ok && y != nil {
						return nil, fmt.Errorf("sdk: event member %s.%s: want strings, got %T", key, k, y)
					}
					ss[i] = s
				}
				out[k] = ss
			default:
				return nil, fmt.Errorf("sdk: event member %s.%s: want an array, got %T", key, k, x)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("sdk: event member %s: want an object, got %T", key, v)
	}
}
