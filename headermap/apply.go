package headermap

import (
	"strings"
)

// lookup returns a header's values; SIP header names are case-insensitive.
func lookup(headers map[string][]string, name string) []string {
	if v, ok := headers[name]; ok {
		return v
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// ApplyInbound applies inbound rules to an INVITE's headers and writes the
// resulting call variables into vars (allocated when nil), which it returns.
// Rules run in order, so a later rule wins over an earlier one for the same
// variable. Missing headers and non-matching User-to-User headers set nothing.
// Rules are expected to be valid (Validate); invalid ones are skipped.
func ApplyInbound(rules []Rule, headers map[string][]string, vars map[string]string) map[string]string {
	if vars == nil {
		vars = make(map[string]string, len(rules))
	}
	for _, r := range rules {
		switch {
		case r.Passthrough:
			if r.Key != "" {
				vars[r.Key] = r.Value
			}
		case r.Type == TypeCustom:
			if r.Value == "" {
				continue
			}
			if v := lookup(headers, r.Key); len(v) > 0 {
				vars[r.Value] = strings.TrimSpace(v[0])
			}
		case r.Type == TypeUUI:
			if r.Target == "" {
				continue
			}
			if data, ok := matchUUI(r, lookup(headers, UUIHeader)); ok {
				vars[r.Target] = data
			}
		}
	}
	return vars
}

// matchUUI decodes the first User-to-User value whose purpose and content
// match the rule's (when the rule names them). A header may also carry
// several comma-separated values.
func matchUUI(r Rule, values []string) (string, bool) {
	enc := r.Encoding
	if enc == "" {
		enc = EncodingHex
	}
	for _, hv := range values {
		for _, v := range splitComma(hv) {
			u, err := ParseUUI(v, enc)
			if err != nil {
				continue
			}
			if r.Purpose != "" && !strings.EqualFold(u.Purpose, r.Purpose) {
				continue
			}
			if r.Content != "" && !strings.EqualFold(u.Content, r.Content) {
				continue
			}
			return string(u.Data), true
		}
	}
	return "", false
}

// splitComma splits a header value on commas outside quoted strings.
func splitComma(v string) []string {
	if !strings.Contains(v, ",") {
		return []string{v}
	}
	parts, _ := splitOutsideQuotes(v, ',')
	return parts
}

// splitOutsideQuotes cuts v at every sep outside RFC 3261 quoted strings
// (which may hold backslash escapes); open reports an unterminated quote.
func splitOutsideQuotes(v string, sep byte) (parts []string, open bool) {
	inQuote, esc, start := false, false, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case inQuote && c == '\\':
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:]), inQuote
}

// ApplyOutbound applies outbound rules to a call's variables and returns the
// headers to add to the INVITE, keyed by the name the rule spells. Rules
// whose variable is unset add nothing, and a variable value that a header
// cannot carry (CR, LF, NUL) is dropped rather than let it inject headers.
// Rules are expected to be valid (Validate); invalid ones are skipped.
func ApplyOutbound(rules []Rule, vars map[string]string) map[string][]string {
	out := make(map[string][]string, len(rules))
	add := func(name, value string) {
		if strings.ContainsAny(value, "\r\n\x00") {
			return
		}
		for k := range out {
			if strings.EqualFold(k, name) {
				name = k
				break
			}
		}
		out[name] = append(out[name], value)
	}
	for _, r := range rules {
		switch {
		case r.Passthrough:
			if r.Key != "" && !reserved[strings.ToLower(r.Key)] {
				add(r.Key, r.Value)
			}
		case r.Type == TypeCustom:
			if r.Key == "" || reserved[strings.ToLower(r.Key)] {
				continue
			}
			if v, ok := vars[r.Value]; ok {
				add(r.Key, v)
			}
		case r.Type == TypeUUI:
			v := vars[r.Target]
			if v == "" {
				continue // an empty payload is not a valid User-to-User value
			}
			enc := r.Encoding
			if enc == "" {
				enc = EncodingHex
			}
			add(UUIHeader, UUI{Data: []byte(v), Encoding: enc, Purpose: r.Purpose, Content: r.Content}.String())
		}
	}
	return out
}
