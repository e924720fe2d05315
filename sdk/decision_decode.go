package sdk

import "strconv"

// DecodeDecision decodes a decision in its usual shape without reflection,
// for the host, which decodes one per event. ok is false for anything
// unusual (an unknown or repeated member, a member name in another case, a
// null, a value of the wrong type, a malformed document): the caller then
// decodes with encoding/json, whose strict decoding (unknown members
// refused) is the definition this must agree with, and which reports the
// error. A fuzz test holds the two to the same results.
func DecodeDecision(b []byte) (d Decision, ok bool) {
	r := &jsonReader{b: b, src: string(b)}
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return Decision{}, false
	}
	r.i++
	r.space()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return d, r.end()
	}
	var seen uint16
	for {
		r.space()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return Decision{}, false
		}
		k := r.key()
		r.space()
		if r.err != nil || r.i >= len(r.b) || r.b[r.i] != ':' {
			return Decision{}, false
		}
		r.i++
		r.space()
		bit := decisionMember(k)
		known := bit != 0
		if !known || seen&bit != 0 || r.i >= len(r.b) {
			return Decision{}, false
		}
		seen |= bit
		switch k {
		case "v":
			d.V, ok = r.integer()
		case "status":
			d.Status, ok = r.integer()
		case "bxml":
			d.BXML, ok = r.plainString()
		case "reason":
			d.Reason, ok = r.plainString()
		case "applicationId":
			d.ApplicationID, ok = r.plainString()
		case "error":
			d.Error, ok = r.plainString()
		case "unhandled":
			switch {
			case r.literal("true"):
				d.Unhandled, ok = true, true
			case r.literal("false"):
				ok = true
			default:
				ok = false
			}
		case "action":
			var s string
			if s, ok = r.plainString(); ok {
				ok = d.Action.UnmarshalText([]byte(s)) == nil
			}
		case "setHeaders":
			d.SetHeaders, ok = r.stringObject()
		case "variables":
			d.Variables, ok = r.stringObject()
		case "removeHeaders":
			d.RemoveHeaders, ok = r.stringArray()
		}
		if !ok || r.err != nil {
			return Decision{}, false
		}
		r.space()
		if r.i >= len(r.b) {
			return Decision{}, false
		}
		switch r.b[r.i] {
		case ',':
			r.i++
			continue
		case '}':
			r.i++
			return d, r.end()
		}
		return Decision{}, false
	}
}

// decisionMember returns a bit per known member name, 0 for others.
func decisionMember(k string) uint16 {
	switch k {
	case "v":
		return 1 << 0
	case "bxml":
		return 1 << 1
	case "action":
		return 1 << 2
	case "status":
		return 1 << 3
	case "reason":
		return 1 << 4
	case "setHeaders":
		return 1 << 5
	case "removeHeaders":
		return 1 << 6
	case "variables":
		return 1 << 7
	case "applicationId":
		return 1 << 8
	case "error":
		return 1 << 9
	case "unhandled":
		return 1 << 10
	}
	return 0
}

// end reports whether only white space follows.
func (r *jsonReader) end() bool {
	r.space()
	return r.err == nil && r.i == len(r.b)
}

// integer reads a JSON number that is an integer written without fraction
// or exponent, as encoding/json accepts for an int.
func (r *jsonReader) integer() (int, bool) {
	start := r.i
	if r.b[r.i] != '-' && (r.b[r.i] < '0' || r.b[r.i] > '9') {
		return 0, false
	}
	r.number()
	if r.err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(r.src[start:r.i])
	return n, err == nil
}

// plainString reads a string value (not null).
func (r *jsonReader) plainString() (string, bool) {
	if r.b[r.i] != '"' {
		return "", false
	}
	s := r.str()
	return s, r.err == nil
}

// stringObject reads an object whose values are all strings.
func (r *jsonReader) stringObject() (map[string]string, bool) {
	if r.b[r.i] != '{' {
		return nil, false
	}
	m, _ := r.value(1).(map[string]any)
	if r.err != nil || m == nil {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// stringArray reads an array whose elements are all strings.
func (r *jsonReader) stringArray() ([]string, bool) {
	if r.b[r.i] != '[' {
		return nil, false
	}
	a, _ := r.value(1).([]any)
	if r.err != nil || a == nil {
		return nil, false
	}
	out := make([]string, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}
