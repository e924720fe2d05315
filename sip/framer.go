package sip

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// framer cuts a stream connection's bytes into SIP messages (RFC 3261
// §18.3: a header section up to an empty line, then Content-Length bytes of
// body), so the connection can time a message from its first byte, count
// messages for the flood guard, refuse one too large, check each whole
// message before sipgo sees it (sanitize), and keep bytes that cannot start
// a message (a peer's trailing junk) away from sipgo's stream parser, which
// would close the connection before answering the message before them.
type framer struct {
	max   int       // largest message (header section + body)
	start time.Time // first byte of the current message
	msg   []byte    // the message so far: start line, header section, body
	head  int       // length of the header section with its empty line; 0 while unknown
	need  int       // total length of the message once head is known
	junk  int       // bytes dropped since the last message
}

// frame is a piece of the stream for sipgo: a whole message, or the CRLFs
// of a keep-alive.
type frame struct {
	data      []byte
	keepalive bool
}

var (
	// errMessageTooLarge: a message past the size limit; the connection
	// answers 513 (when the header section is known) and closes.
	errMessageTooLarge = errors.New("sip message too large")
	// errBadLength: a Content-Length that is not one number; 400, close.
	errBadLength = errors.New("malformed content-length")
	// errJunk: more bytes that cannot start a message than any peer sends.
	errJunk = errors.New("bytes that are not SIP")
)

// maxStartLine bounds a start line read while it is checked.
const maxStartLine = 8 << 10

// feed takes bytes read at now and appends the frames they complete.
func (f *framer) feed(out []frame, data []byte, now time.Time) ([]frame, error) {
	for len(data) > 0 {
		if len(f.msg) == 0 {
			// Between messages: keep-alive CRLFs go to sipgo (it answers a
			// double CRLF ping with a pong).
			i := 0
			for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
				i++
			}
			if i > 0 {
				out = append(out, frame{data: append([]byte(nil), data[:i]...), keepalive: true})
				data = data[i:]
				continue
			}
			f.start = now
		}
		if f.head == 0 {
			// The start line must look like SIP before anything else of the
			// message is kept.
			if nl := bytes.IndexByte(f.msg, '\n'); nl < 0 {
				take := data
				if i := bytes.IndexByte(data, '\n'); i >= 0 {
					take = data[:i+1]
				}
				if len(f.msg)+len(take) > maxStartLine {
					return out, errJunk
				}
				f.msg = append(f.msg, take...)
				data = data[len(take):]
				if take[len(take)-1] != '\n' {
					continue
				}
				if !plausibleStartLine(f.msg) {
					f.junk += len(f.msg)
					f.msg = f.msg[:0]
					if f.junk > f.max {
						return out, errJunk
					}
					continue
				}
			}
			// The header section ends at the first empty line, which may
			// span reads: look again from just before the new bytes.
			from := max(0, len(f.msg)-3)
			take := data
			if len(f.msg)+len(take) > f.max {
				take = take[:f.max-len(f.msg)+1]
			}
			f.msg = append(f.msg, take...)
			data = data[len(take):]
			end := bytes.Index(f.msg[from:], []byte("\r\n\r\n"))
			if end < 0 {
				if len(f.msg) > f.max {
					return out, errMessageTooLarge
				}
				continue
			}
			f.head = from + end + 4
			n, ok := contentLength(f.msg[:f.head])
			if !ok {
				return out, errBadLength
			}
			if f.head+n > f.max {
				return out, errMessageTooLarge
			}
			f.need = f.head + n
			// Bytes past the message go back to the stream.
			if extra := len(f.msg) - f.need; extra > 0 {
				data = append(append([]byte(nil), f.msg[f.need:]...), data...)
				f.msg = f.msg[:f.need]
			}
		} else {
			n := min(f.need-len(f.msg), len(data))
			f.msg = append(f.msg, data[:n]...)
			data = data[n:]
		}
		if f.head > 0 && len(f.msg) == f.need {
			out = append(out, frame{data: f.msg})
			f.msg, f.head, f.need, f.junk = nil, 0, 0, 0
		}
	}
	return out, nil
}

// inMessage reports whether part of a message has arrived and the rest not.
func (f *framer) inMessage() bool { return len(f.msg) > 0 }

// header is the header section of the message being received (for a 513).
func (f *framer) header() []byte {
	if f.head > 0 {
		return f.msg[:f.head]
	}
	return f.msg
}

// contentLength reads Content-Length (or its compact form l) from a header
// section. A stream message without one has no body (RFC 3261 §18.3 makes it
// mandatory; sipgo reads its absence as 0 too). ok is false for a value that
// is not a number, or two values.
func contentLength(header []byte) (n int, ok bool) {
	found := false
	for len(header) > 0 {
		var line []byte
		line, header, _ = bytes.Cut(header, []byte("\n"))
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v, err := strconv.Atoi(string(bytes.TrimSpace(line[colon+1:])))
		if err != nil || v < 0 || found {
			return 0, false
		}
		n, found = v, true
	}
	return n, true
}

// plausibleStartLine reports whether line can begin a SIP message: a
// response ("SIP/2.0 200 ...") or a request ("METHOD uri SIP/x.y", loosely:
// sanitize answers a malformed one with 400). Anything else is junk.
func plausibleStartLine(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	if bytes.HasPrefix(line, []byte("SIP/")) {
		return true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	for _, c := range line[:sp] {
		if !isTokenChar(c) {
			return false
		}
	}
	return bytes.Contains(line[sp:], []byte("sip:")) || bytes.Contains(line[sp:], []byte(" SIP/")) ||
		bytes.Contains(line[sp:], []byte(":"))
}

// isTokenChar: RFC 3261 token characters.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0
}
