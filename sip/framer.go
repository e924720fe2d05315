package sip

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// framer follows SIP message boundaries on a stream connection (RFC 3261
// §18.3: a header section up to an empty line, then Content-Length bytes of
// body), so the connection can time a message from its first byte, count
// messages for the flood guard, refuse one too large, and keep bytes that
// cannot start a message (a peer's trailing junk) away from sipgo's stream
// parser, which would close the connection before answering the message
// before them.
type framer struct {
	max   int // largest message (header section + body)
	state frameState
	start time.Time // first byte of the current message

	line   []byte // idle: the start line so far, held back until complete
	tail   []byte // head: the last bytes of the header section (CRLFCRLF across reads)
	header []byte // head: the header section, kept for Content-Length (bounded by max)
	body   int    // body: bytes still to come
	junk   int    // bytes dropped since the last message
}

type frameState uint8

const (
	frameIdle frameState = iota // between messages (CRLF keep-alives pass)
	frameHead                   // in the header section
	frameBody                   // in the body
)

var (
	// errMessageTooLarge: a message past the size limit; the connection
	// answers 513 (when the header section is known) and closes.
	errMessageTooLarge = errors.New("sip message too large")
	// errJunk: more bytes that cannot start a message than any peer sends.
	errJunk = errors.New("bytes that are not SIP")
)

// maxStartLine bounds a start line held back while it is checked.
const maxStartLine = 8 << 10

// feed takes bytes read at now and appends to out what sipgo may parse. It
// reports how many messages began in data; the header section of a message
// too large comes back with errMessageTooLarge.
func (f *framer) feed(out, data []byte, now time.Time) ([]byte, int, error) {
	started := 0
	for len(data) > 0 {
		switch f.state {
		case frameIdle:
			// Keep-alive CRLFs between messages go to sipgo (it answers a
			// double CRLF ping with a pong).
			if len(f.line) == 0 {
				i := 0
				for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
					i++
				}
				out = append(out, data[:i]...)
				data = data[i:]
				if len(data) == 0 {
					return out, started, nil
				}
				f.start = now
			}
			nl := bytes.IndexByte(data, '\n')
			if nl < 0 {
				if len(f.line)+len(data) > maxStartLine {
					return out, started, errJunk
				}
				f.line = append(f.line, data...)
				return out, started, nil
			}
			f.line = append(f.line, data[:nl+1]...)
			data = data[nl+1:]
			if !plausibleStartLine(f.line) {
				f.junk += len(f.line)
				f.line = f.line[:0]
				if f.junk > f.max {
					return out, started, errJunk
				}
				continue
			}
			started++
			f.junk = 0
			out = append(out, f.line...)
			f.state, f.header, f.tail = frameHead, append(f.header[:0], f.line...), f.tail[:0]
			f.line = f.line[:0]
		case frameHead:
			// The header section ends at the first CRLFCRLF, which may
			// span reads.
			end := headerEnd(f.tail, data)
			take := data
			if end >= 0 {
				take = data[:end]
			}
			if len(f.header)+len(take) > f.max {
				return out, started, errMessageTooLarge
			}
			f.header = append(f.header, take...)
			out = append(out, take...)
			data = data[len(take):]
			if end < 0 {
				f.tail = lastBytes(f.tail, take, 3)
				continue
			}
			n, ok := contentLength(f.header)
			if !ok || len(f.header)+n > f.max {
				return out, started, errMessageTooLarge
			}
			f.body = n
			f.state = frameBody
			if n == 0 {
				f.state = frameIdle
			}
		case frameBody:
			n := min(f.body, len(data))
			out = append(out, data[:n]...)
			data = data[n:]
			f.body -= n
			if f.body == 0 {
				f.state = frameIdle
			}
		}
	}
	return out, started, nil
}

// inMessage reports whether part of a message has arrived and the rest not.
func (f *framer) inMessage() bool { return f.state != frameIdle || len(f.line) > 0 }

// headerEnd returns how many bytes of data complete the header section (the
// empty line included), given the last bytes before data, or -1.
func headerEnd(tail, data []byte) int {
	const term = "\r\n\r\n"
	// A terminator may span the reads: join the tail (at most 3 bytes) with
	// the first bytes of data. One found there ends within data's first 3
	// bytes, before any found in data alone.
	var joint [6]byte
	j := copy(joint[:], tail)
	j += copy(joint[j:], data[:min(len(data), 3)])
	if i := bytes.Index(joint[:j], []byte(term)); i >= 0 && i+len(term) > len(tail) {
		return i + len(term) - len(tail)
	}
	if i := bytes.Index(data, []byte(term)); i >= 0 {
		return i + len(term)
	}
	return -1
}

func lastBytes(prev, data []byte, n int) []byte {
	prev = append(prev, data[max(0, len(data)-n):]...)
	return append(prev[:0], prev[max(0, len(prev)-n):]...)
}

// contentLength reads Content-Length (or its compact form l) from a header
// section. A stream message without one has no body (RFC 3261 §18.3 makes it
// mandatory; sipgo reads its absence as 0 too). ok is false for a value that
// is not a number or for two different values.
func contentLength(header []byte) (n int, ok bool) {
	found := false
	for len(header) > 0 {
		nl := bytes.IndexByte(header, '\n')
		line := header
		if nl >= 0 {
			line, header = header[:nl], header[nl+1:]
		} else {
			header = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v, err := strconv.Atoi(string(bytes.TrimSpace(line[colon+1:])))
		if err != nil || v < 0 || (found && v != n) {
			return 0, false
		}
		n, found = v, true
	}
	return n, true
}

// plausibleStartLine reports whether line can begin a SIP message: a
// response ("SIP/2.0 200 ...") or a request ("METHOD uri SIP/x.y"). The
// check is loose on purpose: sipgo parses and the front door answers a
// malformed start line with 400; this only keeps junk away from the stream
// parser.
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
	return bytes.Contains(line[sp:], []byte(" SIP/"))
}

// isTokenChar: RFC 3261 token characters.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0
}

// tooLargeResponse builds the 513 answer to a message whose header section
// is known, copying the headers a response needs (RFC 3261 §8.2.6.2), or nil
// when the section does not look like a request.
func tooLargeResponse(header []byte) []byte {
	first, rest, _ := bytes.Cut(header, []byte("\n"))
	if bytes.HasPrefix(first, []byte("SIP/")) {
		return nil // never answer a response
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 513 Message Too Large\r\n")
	copied := 0
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(line[:colon]))) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			b.Write(line)
			b.WriteString("\r\n")
			copied++
		}
	}
	if copied < 5 {
		return nil
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}
