package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader and writer for the event and decision. encoding/json
// works in a guest but its reflection costs hundreds of microseconds per
// event under WebAssembly; this straight-line code costs a few. Values decode
// to the same Go types encoding/json uses for interface{} (string, float64,
// bool, nil, map[string]any, []any), and a fuzz test holds the two to the
// same results.

var errJSON = errors.New("invalid JSON")

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

type jsonReader struct {
	b []byte
	// src is b as one string: plain string values are slices of it, so
	// decoding allocates once for all their bytes (in a guest every
	// allocation counts) at the price of keeping the event's text alive
	// while any value is.
	src string
	i   int
	err error
}

func (r *jsonReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at offset %d: %s", errJSON, r.i, fmt.Sprintf(format, args...))
	}
}

func (r *jsonReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// parseJSONObject decodes b, which must hold exactly one JSON object.
func parseJSONObject(b []byte) (map[string]any, error) {
	r := &jsonReader{b: b, src: string(b)}
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		r.fail("expected an object")
		return nil, r.err
	}
	v := r.value(0)
	r.space()
	if r.err == nil && r.i != len(r.b) {
		r.fail("data after the object")
	}
	if r.err != nil {
		return nil, r.err
	}
	return v.(map[string]any), nil
}

func (r *jsonReader) value(depth int) any {
	if depth > maxJSONDepth {
		r.fail("nesting deeper than %d", maxJSONDepth)
		return nil
	}
	r.space()
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return nil
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object(depth)
	case c == '[':
		return r.array(depth)
	case c == '"':
		return r.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case r.literal("true"):
		return true
	case r.literal("false"):
		return false
	case r.literal("null"):
		return nil
	default:
		r.fail("unexpected %q", c)
		return nil
	}
}

func (r *jsonReader) literal(s string) bool {
	if len(r.b)-r.i >= len(s) && string(r.b[r.i:r.i+len(s)]) == s {
		r.i += len(s)
		return true
	}
	return false
}

func (r *jsonReader) object(depth int) map[string]any {
	r.i++ // {
	// An event carries a dozen or more top-level members: sizing the map
	// up front saves growing it twice.
	size := 0
	if depth == 0 {
		size = 24
	}
	m := make(map[string]any, size)
	r.space()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return m
	}
	for r.err == nil {
		r.space()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			r.fail("expected a member name")
			return nil
		}
		k := r.key()
		r.space()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			r.fail("expected ':'")
			return nil
		}
		r.i++
		v := r.value(depth + 1)
		if r.err != nil {
			return nil
		}
		m[k] = v
		r.space()
		if r.i >= len(r.b) {
			r.fail("unterminated object")
			return nil
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case '}':
			r.i++
			return m
		default:
			r.fail("expected ',' or '}'")
			return nil
		}
	}
	return nil
}

func (r *jsonReader) array(depth int) []any {
	r.i++ // [
	a := []any{}
	r.space()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return a
	}
	for r.err == nil {
		v := r.value(depth + 1)
		if r.err != nil {
			return nil
		}
		a = append(a, v)
		r.space()
		if r.i >= len(r.b) {
			r.fail("unterminated array")
			return nil
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case ']':
			r.i++
			return a
		default:
			r.fail("expected ',' or ']'")
			return nil
		}
	}
	return nil
}

func (r *jsonReader) number() any {
	start := r.i
	if r.b[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		n := 0
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case digits() == 0:
		r.fail("bad number")
		return nil
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			r.fail("bad fraction")
			return nil
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			r.fail("bad exponent")
			return nil
		}
	}
	f, err := strconv.ParseFloat(string(r.b[start:r.i]), 64)
	if err != nil {
		r.fail("number %s out of range", r.b[start:r.i])
		return nil
	}
	return f
}

// key reads a member name. Plain names are slices of the text, so they do
// not allocate; a lookup table of common names (which the decoder once
// used for that) costs a string hash per member, dear in a guest.
func (r *jsonReader) key() string { return r.str() }

// str reads a string, replacing invalid UTF-8 and lone surrogates with
// U+FFFD as encoding/json does.
func (r *jsonReader) str() string {
	r.i++ // opening quote
	start := r.i
	// Fast path: no escapes, plain ASCII or valid UTF-8. Eight bytes at a
	// time first: a Go loop iteration is expensive under WebAssembly.
	r.i = skipPlain(r.b, r.i)
	ascii := true // skipPlain passes whole words of ASCII only
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := r.src[start:r.i]
			r.i++
			if ascii || utf8.ValidString(s) {
				return s
			}
			return string([]rune(s))
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		r.i++
	}
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return string([]rune(string(out)))
			}
			return string(out)
		case c < 0x20:
			r.fail("control character in string")
			return ""
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		r.i++
		if r.i >= len(r.b) {
			break
		}
		e := r.b[r.i]
		r.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru := r.hex4()
			if r.err != nil {
				return ""
			}
			if utf16.IsSurrogate(ru) {
				// A high surrogate followed by \uDC00-\uDFFF is one rune;
				// anything else is replaced.
				if r.i+6 <= len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					lo := r.hex4()
					if r.err != nil {
						return ""
					}
					if dec := utf16.DecodeRune(ru, lo); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						continue
					}
					r.i = save
				}
				ru = utf8.RuneError
			}
			out = utf8.AppendRune(out, ru)
		default:
			r.i--
			r.fail("bad escape \\%c", e)
			return ""
		}
	}
	r.fail("unterminated string")
	return ""
}

// skipPlain returns the index of the first byte at or after i, in whole
// eight-byte words, that may need attention in a string: a quote, a
// backslash, a control character or a non-ASCII byte. The byte loop after
// it finds the exact position.
func skipPlain(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte of x is special when it is >= 0x80, < 0x20, '"' or '\\';
		// zero(y) has the high bit set in each zero byte of y (no false
		// positives below a real zero byte, and the scan stops there).
		special := x | (x - 0x20*ones) | zero(x^('"'*ones)) | zero(x^('\\'*ones))
		if special&highs != 0 {
			break
		}
		i += 8
	}
	return i
}

// zero sets the high bit of every zero byte of x (and possibly of bytes
// above the first zero byte, which only makes the caller stop early).
func zero(x uint64) uint64 {
	const ones = 0x0101010101010101
	return (x - ones) &^ x
}

func (r *jsonReader) hex4() rune {
	if r.i+4 > len(r.b) {
		r.fail("short \\u escape")
		return 0
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			r.fail("bad \\u escape")
			return 0
		}
	}
	r.i += 4
	return v
}

// appendJSONString writes s as a JSON string, escaping what encoding/json
// escapes (HTML characters included, so the output is byte-identical).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		ru, size := utf8.DecodeRuneInString(s[i:])
		if ru == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if ru == '\u2028' || ru == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[ru&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
