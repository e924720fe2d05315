package headermap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// UUIHeader is the RFC 7433 header name.
const UUIHeader = "User-to-User"

// ErrUUI is wrapped by every User-to-User parse error.
var ErrUUI = errors.New("invalid User-to-User header")

// UUI is one User-to-User header value.
type UUI struct {
	Data     []byte   // the decoded payload
	Encoding Encoding // as the header said it ("" when it named none), lower case
	Purpose  string
	Content  string
}

// maxUUI bounds a header value; RFC 7433 payloads are small (ISDN allows 128 bytes).
const maxUUI = 4096

// ParseUUI reads a User-to-User header value such as
// "3432;encoding=hex;purpose=bland;content=id". The payload is hex-decoded
// when the header says encoding=hex, or when it names no encoding and
// fallback is hex; otherwise it is taken as text (a quoted string unquoted).
func ParseUUI(v string, fallback Encoding) (UUI, error) {
	if len(v) > maxUUI {
		return UUI{}, fmt.Errorf("%w: longer than %d bytes", ErrUUI, maxUUI)
	}
	data, params, err := splitUUI(strings.TrimSpace(v))
	if err != nil {
		return UUI{}, err
	}
	var u UUI
	for _, p := range params {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val, err = unquote(strings.TrimSpace(val))
		if err != nil {
			return UUI{}, fmt.Errorf("%w: parameter %s: %v", ErrUUI, name, err)
		}
		switch name {
		case "encoding":
			u.Encoding = Encoding(strings.ToLower(val))
		case "purpose":
			u.Purpose = val
		case "content":
			u.Content = val
		}
	}
	enc := u.Encoding
	if enc == "" {
		enc = fallback
	}
	quoted := strings.HasPrefix(data, `"`)
	text, err := unquote(data)
	if err != nil {
		return UUI{}, fmt.Errorf("%w: payload: %v", ErrUUI, err)
	}
	if enc == EncodingHex && !quoted {
		b, err := hex.DecodeString(text)
		if err != nil {
			return UUI{}, fmt.Errorf("%w: payload %q is not hex: %v", ErrUUI, text, err)
		}
		u.Data = b
		return u, nil
	}
	if enc == EncodingHex {
		return UUI{}, fmt.Errorf("%w: encoding=hex with a quoted payload", ErrUUI)
	}
	u.Data = []byte(text)
	return u, nil
}

// splitUUI cuts the payload from its ;parameters, minding quoted strings.
func splitUUI(v string) (data string, params []string, err error) {
	parts, open := splitOutsideQuotes(v, ';')
	if open {
		return "", nil, fmt.Errorf("%w: unterminated quoted string", ErrUUI)
	}
	data = strings.TrimSpace(parts[0])
	if data == "" {
		return "", nil, fmt.Errorf("%w: no payload", ErrUUI)
	}
	return data, parts[1:], nil
}

// unquote removes an RFC 3261 quoted-string's quotes and escapes; a token is
// returned as is.
func unquote(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		if strings.ContainsAny(s, "\" \t") {
			return "", errors.New("stray quote or space")
		}
		return s, nil
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", errors.New("unterminated quoted string")
	}
	body := s[1 : len(s)-1]
	if !strings.ContainsRune(body, '\\') {
		if strings.Contains(body, `"`) {
			return "", errors.New("unescaped quote inside a quoted string")
		}
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' {
			return "", errors.New("unescaped quote inside a quoted string")
		}
		if c == '\\' {
			i++
			if i == len(body) {
				return "", errors.New("dangling backslash")
			}
			c = body[i]
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// String renders the header value. Hex payloads are always safe; an ascii
// payload is sent as a quoted string, and falls back to hex when it holds
// bytes a SIP header cannot carry.
func (u UUI) String() string {
	var b strings.Builder
	enc := u.Encoding
	if enc == EncodingASCII && !printable(u.Data) {
		enc = EncodingHex
	}
	if enc == EncodingASCII {
		b.WriteByte('"')
		for _, c := range u.Data {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteString(`";encoding=ascii`)
	} else {
		b.WriteString(hex.EncodeToString(u.Data))
		b.WriteString(";encoding=hex")
	}
	if u.Purpose != "" {
		b.WriteString(";purpose=")
		b.WriteString(u.Purpose)
	}
	if u.Content != "" {
		b.WriteString(";content=")
		b.WriteString(u.Content)
	}
	return b.String()
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
