package sip

import (
	"bytes"
	"hash/fnv"
	"strconv"
)

// Sanity checks on a request's raw bytes before sipgo parses it (what
// Kamailio's sanity module does): sipgo's parser accepts some malformed
// requests (a wrong SIP version, a Content-Length past the datagram, two
// From headers, a CSeq for another method) and refuses others without an
// answer, while RFC 3261 and the RFC 4475 torture tests want a precise error
// response. A request that fails gets 400, 416, 420 or 505 here and never
// reaches sipgo. Two RFC-valid forms sipgo does not take are rewritten
// instead: folded header lines are unfolded, and an RFC 2543 request
// without a Via branch gets one.

// verdicts of sanityCheck.
type sanity struct {
	status      int    // 0: the request may go on
	reason      string // for the log and metrics
	unsupported string // the Unsupported header of a 420
}

// The headers sanitize looks at. Via, Contact and Require may come more than
// once; the others only once.
const (
	hVia = iota
	hContact
	hRequire
	hFrom
	hTo
	hCallID
	hCSeq
	hMaxForwards
	hContentLength
	numTracked
)

var trackedNames = [numTracked]string{"via", "contact", "require", "from", "to", "call-id", "cseq", "max-forwards", "content-length"}

// trackedHeaders maps lower-case names, compact forms too, to the above.
var trackedHeaders = map[string]int{
	"via": hVia, "v": hVia, "contact": hContact, "m": hContact, "require": hRequire,
	"from": hFrom, "f": hFrom, "to": hTo, "t": hTo, "call-id": hCallID, "i": hCallID,
	"cseq": hCSeq, "max-forwards": hMaxForwards, "content-length": hContentLength, "l": hContentLength,
}

// lower appends the ASCII lower case of b to dst.
func lower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// atoi reads a non-empty run of decimal digits (at most 10).
func atoi(b []byte) (n int, ok bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// sanitize checks msg (a whole request or response, as read) and returns the
// bytes to parse, possibly rewritten, or a verdict to answer with. datagram
// says msg is all there is (UDP): a Content-Length beyond it is an error and
// bytes after it are dropped.
func sanitize(msg []byte, datagram bool) ([]byte, sanity) {
	head, body, found := cutHeader(msg)
	if !found && !datagram {
		return msg, sanity{} // a stream framer hands whole messages only
	}
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if bytes.HasPrefix(line, []byte("SIP/")) {
		return msg, sanity{} // responses: sipgo matches them or drops them
	}
	method, v := checkRequestLine(line)
	if v.status != 0 {
		return msg, v
	}
	if folded(rest) {
		unfolded := unfold(head)
		msg = append(append(unfolded, "\r\n\r\n"...), body...)
		head = unfolded
		_, rest, _ = bytes.Cut(head, []byte("\n"))
	}
	var seen [numTracked]int
	var cseq, clen, maxfwd []byte
	var require [][]byte
	topVia := -1 // offset in head of the end of the first Via value
	loose := false
	var nameBuf [24]byte
	for off := len(head) - len(rest); len(rest) > 0; {
		l, next, _ := bytes.Cut(rest, []byte("\n"))
		lineStart := off
		off += len(l) + 1
		rest = next
		l = bytes.TrimSuffix(l, []byte("\r"))
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 {
			continue
		}
		raw := bytes.TrimSpace(l[:colon])
		if len(raw) > len(nameBuf) {
			continue // no header we check has a name that long
		}
		h, ok := trackedHeaders[string(lower(nameBuf[:0], raw))]
		if !ok {
			continue
		}
		if seen[h]++; seen[h] > 1 && h != hVia && h != hContact && h != hRequire {
			return msg, sanity{status: 400, reason: "multiple " + trackedNames[h]}
		}
		value := bytes.TrimSpace(l[colon+1:])
		switch h {
		case hVia:
			if len(value) < 3 || !bytes.EqualFold(value[:3], []byte("SIP")) || !checkParams(value) {
				return msg, sanity{status: 400, reason: "malformed via"}
			}
			if topVia < 0 {
				topVia = lineStart + len(bytes.TrimRight(l, " \t"))
				if bytes.IndexByte(value, ',') >= 0 {
					if i := indexOutsideQuotes(value, ','); i >= 0 {
						topVia -= len(value) - i
					}
				}
			}
			if !loose {
				_, loose = tightValue(nil, value, true, false)
			}
		case hContact:
			if !bytes.Equal(value, []byte("*")) && !checkParams(value) {
				return msg, sanity{status: 400, reason: "malformed contact"}
			}
			if !loose {
				_, loose = tightValue(nil, value, false, false)
			}
		case hFrom, hTo:
			if len(value) == 0 || !checkNameAddr(value) {
				return msg, sanity{status: 400, reason: "malformed " + trackedNames[h]}
			}
			if !loose {
				_, loose = tightValue(nil, value, false, false)
			}
		case hCallID:
			if len(value) == 0 {
				return msg, sanity{status: 400, reason: "malformed call-id"}
			}
		case hCSeq:
			cseq = value
		case hContentLength:
			clen = value
		case hMaxForwards:
			maxfwd = value
		case hRequire:
			require = append(require, value)
		}
	}
	for _, h := range [...]int{hVia, hFrom, hTo, hCallID, hCSeq} {
		if seen[h] == 0 {
			return msg, sanity{status: 400, reason: "missing " + trackedNames[h]}
		}
	}
	num, cm, ok := bytes.Cut(bytes.TrimSpace(cseq), []byte(" "))
	if n, isNum := atoi(num); !ok || !isNum || n > 1<<31-1 {
		return msg, sanity{status: 400, reason: "malformed cseq"}
	}
	if !bytes.Equal(bytes.TrimSpace(cm), method) {
		return msg, sanity{status: 400, reason: "cseq method mismatch"}
	}
	if maxfwd != nil {
		if n, isNum := atoi(maxfwd); !isNum || n > 255 {
			return msg, sanity{status: 400, reason: "malformed max-forwards"}
		}
	}
	if clen == nil && !datagram {
		// RFC 3261 §18.3: a stream message must say where it ends; the
		// framer took it as bodiless, sipgo would wait for a body.
		return msg, sanity{status: 400, reason: "missing content-length"}
	}
	if clen != nil {
		n, isNum := atoi(clen)
		switch {
		case !isNum || n > 1<<31:
			return msg, sanity{status: 400, reason: "malformed content-length"}
		case datagram && n > len(body):
			return msg, sanity{status: 400, reason: "content-length past the datagram"}
		case datagram && n < len(body):
			msg = msg[:len(msg)-(len(body)-n)] // RFC 3261 §18.3: the rest is not the message's
		}
	}
	if len(require) > 0 && !bytes.Equal(method, []byte("ACK")) && !bytes.Equal(method, []byte("CANCEL")) {
		return msg, sanity{status: 420, reason: "unsupported extension", unsupported: string(bytes.Join(require, []byte(", ")))}
	}
	if topVia >= 0 && !hasBranch(head, topVia) {
		msg = addBranch(msg, topVia)
	}
	if loose {
		msg = tighten(msg)
	}
	return msg, sanity{}
}

// tighten removes the white space RFC 3261 allows around the separators of
// Via, From, To and Contact values ("SIP / 2.0 / UDP", "; tag = x"), which
// sipgo's parsers do not take.
func tighten(msg []byte) []byte {
	head, body, _ := cutHeader(msg)
	out := make([]byte, 0, len(msg))
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			if kind := looseKind(line[:colon]); kind != notLoose {
				out = append(out, line[:colon]...)
				out = append(out, ": "...)
				out, _ = tightValue(out, bytes.TrimSpace(line[colon+1:]), kind == viaLoose, true)
				out = append(out, "\r\n"...)
				continue
			}
		}
		out = append(append(out, line...), "\r\n"...)
	}
	out = append(out, "\r\n"...)
	return append(out, body...)
}

// Headers tighten rewrites; a Via also loses white space around '/'.
const (
	notLoose = iota
	addrLoose
	viaLoose
)

func looseKind(name []byte) int {
	switch string(bytes.ToLower(bytes.TrimSpace(name))) {
	case "via", "v":
		return viaLoose
	case "from", "f", "to", "t", "contact", "m":
		return addrLoose
	}
	return notLoose
}

// tightValue appends v to dst without the white space next to ';', '=' (and
// '/' in a Via) outside quotes and <...>; changed says some was found. With
// write false it only looks, and stops at the first.
func tightValue(dst, v []byte, via, write bool) (out []byte, changed bool) {
	if !write && bytes.IndexByte(v, ' ') < 0 && bytes.IndexByte(v, '\t') < 0 {
		return dst, false
	}
	sep := func(b byte) bool { return b == ';' || b == '=' || (via && b == '/') }
	var sc valueScanner
	for i := 0; i < len(v); i++ {
		b := v[i]
		outside, escaped := sc.next(v, i)
		if escaped {
			if write {
				dst = append(dst, b, v[i+1])
			}
			i++
			continue
		}
		if outside && isSpace(b) {
			j := i
			for j < len(v) && isSpace(v[j]) {
				j++
			}
			if (j < len(v) && sep(v[j])) || (i > 0 && sep(v[i-1])) {
				if !write {
					return dst, true
				}
				changed = true
				i = j - 1
				continue
			}
		}
		if write {
			dst = append(dst, b)
		}
	}
	return dst, changed
}

// cutHeader splits a message at the empty line ending its header section
// (line ends may be CRLF or a bare LF, mixed).
func cutHeader(msg []byte) (head, body []byte, found bool) {
	for i := bytes.IndexByte(msg, '\n'); i >= 0; {
		j := i + 1
		if j < len(msg) && msg[j] == '\r' {
			j++
		}
		if j < len(msg) && msg[j] == '\n' {
			end := i
			if end > 0 && msg[end-1] == '\r' {
				end--
			}
			return msg[:end], msg[j+1:], true
		}
		k := bytes.IndexByte(msg[j:], '\n')
		if k < 0 {
			break
		}
		i = j + k
	}
	return msg, nil, false
}

// checkRequestLine checks "Method SP Request-URI SP SIP-Version": single
// spaces, a token method, a URI of a scheme the node serves (416 for
// others), version 2.0 (505 for others).
func checkRequestLine(line []byte) ([]byte, sanity) {
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	uri, ver, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(uri) == 0 || len(ver) == 0 || bytes.IndexByte(ver, ' ') >= 0 {
		return nil, sanity{status: 400, reason: "malformed request line"}
	}
	for _, c := range method {
		if !isTokenChar(c) {
			return nil, sanity{status: 400, reason: "malformed method"}
		}
	}
	if !bytes.HasPrefix(ver, []byte("SIP/")) {
		return nil, sanity{status: 400, reason: "malformed version"}
	}
	if !bytes.Equal(ver, []byte("SIP/2.0")) {
		return nil, sanity{status: 505, reason: "version not supported"}
	}
	scheme, _, ok := bytes.Cut(uri, []byte(":"))
	if !ok || len(scheme) == 0 || uri[0] == '<' {
		return nil, sanity{status: 400, reason: "malformed request-uri"}
	}
	if !bytes.EqualFold(scheme, []byte("sip")) && !bytes.EqualFold(scheme, []byte("sips")) && !bytes.EqualFold(scheme, []byte("tel")) {
		return nil, sanity{status: 416, reason: "unsupported uri scheme"}
	}
	return method, sanity{}
}

// folded reports whether a header section has continuation lines.
func folded(head []byte) bool {
	return bytes.Contains(head, []byte("\n ")) || bytes.Contains(head, []byte("\n\t"))
}

// unfold joins continuation lines (a line break followed by white space is
// one space, RFC 3261 §7.3.1) into a new slice.
func unfold(head []byte) []byte {
	out := make([]byte, 0, len(head))
	for i := 0; i < len(head); i++ {
		c := head[i]
		if c == '\r' || c == '\n' {
			j := i
			if c == '\r' && j+1 < len(head) && head[j+1] == '\n' {
				j++
			}
			if j+1 < len(head) && (head[j+1] == ' ' || head[j+1] == '\t') {
				out = append(out, ' ')
				i = j + 1
				for i+1 < len(head) && (head[i+1] == ' ' || head[i+1] == '\t') {
					i++
				}
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// valueScanner walks a header value, telling the bytes of its structure
// from those inside quoted strings and <...>.
type valueScanner struct {
	quoted bool
	angle  int
}

// next classifies v[i]: outside is a byte of structure (not in quotes or
// angle brackets, nor one of those delimiters); escaped is a quoted-pair,
// whose second byte the caller skips.
func (s *valueScanner) next(v []byte, i int) (outside, escaped bool) {
	switch b := v[i]; {
	case s.quoted && b == '\\' && i+1 < len(v):
		return false, true
	case b == '"':
		s.quoted = !s.quoted
	case s.quoted:
	case b == '<':
		s.angle++
	case b == '>' && s.angle > 0:
		s.angle--
	default:
		return s.angle == 0, false
	}
	return false, false
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

// indexOutsideQuotes is the first c in v outside quoted strings and <...>.
func indexOutsideQuotes(v []byte, c byte) int {
	var sc valueScanner
	for i := 0; i < len(v); i++ {
		outside, escaped := sc.next(v, i)
		if escaped {
			i++
		} else if outside && v[i] == c {
			return i
		}
	}
	return -1
}

// checkNameAddr checks a From or To value: quotes closed, one value (no
// comma outside quotes and angle brackets), no white space inside <...>.
func checkNameAddr(v []byte) bool {
	var sc valueScanner
	for i := 0; i < len(v); i++ {
		if b := v[i]; !sc.quoted && ((b == '<' && sc.angle > 0) || (b == '>' && sc.angle == 0) || (sc.angle > 0 && isSpace(b))) {
			return false
		}
		outside, escaped := sc.next(v, i)
		if escaped {
			i++
		} else if outside && v[i] == ',' {
			return false
		}
	}
	return !sc.quoted && sc.angle == 0
}

// checkParams refuses empty parameters and values in a Via or Contact list
// (";;", ";,", ",,", a trailing ";" or ","), outside quotes and <...>.
func checkParams(v []byte) bool {
	prev := byte(0)
	var sc valueScanner
	for i := 0; i < len(v); i++ {
		b := v[i]
		outside, escaped := sc.next(v, i)
		if escaped {
			i++
			continue
		}
		if outside && (b == ';' || b == ',') && (prev == ';' || prev == ',' || i == 0) {
			return false
		}
		if !isSpace(b) {
			prev = b
		}
	}
	return prev != ';' && prev != ',' && !sc.quoted
}

// hasBranch reports whether the top Via (ending at end in head) has a branch.
func hasBranch(head []byte, end int) bool {
	start := bytes.LastIndexByte(head[:end], '\n') + 1
	if bytes.Contains(head[start:end], []byte(";branch=")) {
		return true
	}
	via := bytes.ToLower(head[start:end])
	via, _ = tightValue(nil, via, true, true) // "; branch = x", "BRANCH"
	return bytes.Contains(via, []byte(";branch="))
}

// addBranch gives the top Via of an RFC 2543 request (ending at offset end)
// a branch derived from the message, so sipgo's transactions can match it;
// the same request retransmitted gets the same branch.
func addBranch(msg []byte, end int) []byte {
	h := fnv.New64a()
	h.Write(msg[:end])
	b := []byte(";branch=z9hG4bK-2543-" + strconv.FormatUint(h.Sum64(), 36))
	out := make([]byte, 0, len(msg)+len(b))
	out = append(out, msg[:end]...)
	out = append(out, b...)
	return append(out, msg[end:]...)
}

// errorResponse builds a stateless error response to the request whose
// header section is head, copying the headers a response needs (RFC 3261
// §8.2.6.2), with a To tag; nil when head is not a request's or lacks them.
func errorResponse(head []byte, status int, reason string, extra ...string) []byte {
	first, rest, _ := bytes.Cut(head, []byte("\n"))
	if bytes.HasPrefix(first, []byte("SIP/")) || bytes.HasPrefix(first, []byte("ACK ")) {
		return nil // never answer a response or an ACK
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + strconv.Itoa(status) + " " + reason + "\r\n")
	copied := 0
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		switch name := string(bytes.ToLower(bytes.TrimSpace(line[:colon]))); name {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.Write(line)
			b.WriteString("\r\n")
			copied++
		case "to", "t":
			b.Write(line)
			if !bytes.Contains(bytes.ToLower(line[colon:]), []byte(";tag=")) {
				h := fnv.New32a()
				h.Write(head)
				b.WriteString(";tag=wv" + strconv.FormatUint(uint64(h.Sum32()), 36))
			}
			b.WriteString("\r\n")
			copied++
		}
	}
	if copied == 0 {
		return nil // not even a Via: nowhere to answer
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}
