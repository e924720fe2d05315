package sip

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Direction of a traced message.
type Direction string

const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// TraceEntry is one SIP message seen on a call, as it went over the wire.
type TraceEntry struct {
	Time      time.Time
	Direction Direction
	Transport string // UDP, TCP, TLS
	Local     string // our address, host:port (empty when not known)
	Remote    string // the peer's address, host:port
	Message   string // the full message text

	answers string // an incoming response's CSeq, for ordering (add)
}

// maxTraceEntries bounds one call's trace; a peer that keeps retransmitting
// cannot grow it without limit.
const maxTraceEntries = 512

// Trace collects every SIP message in and out of one call (one Call-ID).
// It is safe for concurrent use.
type Trace struct {
	callID   string
	localTag string
	initial  sip.Message // recorded by the handler; skipped by the read hook

	mu      sync.Mutex
	entries []TraceEntry
	dropped int
	// seen holds the last incoming messages recorded, by identity: the
	// transport's read hook and the request handlers both record a request
	// (whichever runs first), and it is kept once.
	seen  [8]sip.Message
	nseen int
}

// CallID returns the SIP Call-ID the trace follows.
func (t *Trace) CallID() string { return t.callID }

// Entries returns a copy of the messages recorded so far, oldest first.
func (t *Trace) Entries() []TraceEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.entries)
	slices.SortStableFunc(out, func(a, b TraceEntry) int { return a.Time.Compare(b.Time) })
	return out
}

// Dropped returns how many messages were not kept because the trace was full.
func (t *Trace) Dropped() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// addIn records an incoming message unless it was recorded already.
func (t *Trace) addIn(msg sip.Message, e func() TraceEntry) {
	t.mu.Lock()
	for _, m := range t.seen {
		if m == msg {
			t.mu.Unlock()
			return
		}
	}
	t.seen[t.nseen%len(t.seen)] = msg
	t.nseen++
	t.mu.Unlock()
	t.add(e())
}

func (t *Trace) add(e TraceEntry) {
	response := strings.HasPrefix(e.Message, "SIP/")
	if e.Direction == DirectionIn && response {
		e.answers = cseqOf(e.Message)
	}
	t.mu.Lock()
	if e.Direction == DirectionOut && !response {
		// sipgo reports a write once it is done, so on a fast path the
		// answer can be recorded first: a request goes before any response
		// to it (same CSeq) already here.
		if cseq := cseqOf(e.Message); cseq != "" {
			for _, x := range t.entries {
				if x.answers == cseq && !x.Time.After(e.Time) {
					e.Time = x.Time.Add(-time.Nanosecond)
				}
			}
		}
	}
	if e.Direction == DirectionOut && response {
		// Likewise an answer to an INVITE goes before the ACK of it (the
		// peer's ACK can be read before sipgo reports the write).
		if num, method, _ := strings.Cut(cseqOf(e.Message), " "); method == "INVITE" {
			for _, x := range t.entries {
				if x.Direction == DirectionIn && strings.HasPrefix(x.Message, "ACK ") && !x.Time.After(e.Time) {
					if n, m, _ := strings.Cut(cseqOf(x.Message), " "); n == num && m == "ACK" {
						e.Time = x.Time.Add(-time.Nanosecond)
					}
				}
			}
		}
	}
	if len(t.entries) < maxTraceEntries {
		t.entries = append(t.entries, e)
	} else {
		t.dropped++
	}
	t.mu.Unlock()
}

// traces maps Call-ID to the traces of live legs with that Call-ID (one in
// production; two when both legs of a call run in one process, as in
// tests). The write side is fed by sipgo's process-wide SIP debug tracer
// (the only hook that sees every byte sipgo writes, retransmissions and
// automatic responses included); the read side by a transport-layer message
// hook of each Server.
var (
	tracesMu    sync.RWMutex
	traces      = map[string][]*Trace{}
	tracesCount atomic.Int64
)

func init() {
	// sipgo calls the tracer only when SIPDebug is set; it must be set before
	// any transport runs, hence init.
	sip.SIPDebugTracer(wireTracer{})
	sip.SIPDebug = true
}

// startTrace registers a trace for callID; localTag is our dialog tag (the
// To tag we answer with as UAS, the From tag we send as UAC).
func startTrace(callID, localTag string, initial sip.Message) *Trace {
	t := &Trace{callID: callID, localTag: localTag, initial: initial, entries: takePrelude(callID)}
	tracesMu.Lock()
	traces[callID] = append(traces[callID], t)
	tracesMu.Unlock()
	tracesCount.Add(1)
	return t
}

func stopTrace(t *Trace) {
	tracesMu.Lock()
	defer tracesMu.Unlock()
	list := traces[t.callID]
	for i, x := range list {
		if x == t {
			list = append(list[:i:i], list[i+1:]...)
			tracesCount.Add(-1)
			break
		}
	}
	if len(list) == 0 {
		delete(traces, t.callID)
	} else {
		traces[t.callID] = list
	}
}

// lookupTrace finds the trace of the leg a message belongs to. ourTag is the
// tag that would be ours (From of what we send, To of what we receive for
// requests; the reverse for responses), theirTag the other one.
func lookupTrace(callID, ourTag, theirTag string) *Trace {
	tracesMu.RLock()
	defer tracesMu.RUnlock()
	list := traces[callID]
	if len(list) == 1 {
		return list[0]
	}
	for _, t := range list {
		if ourTag != "" && t.localTag == ourTag {
			return t
		}
	}
	// Our tag unknown or new (a 487 built by the transaction layer carries a
	// fresh To tag): the leg is the one whose tag is not the peer's.
	if theirTag != "" {
		for _, t := range list {
			if t.localTag != theirTag {
				return t
			}
		}
	}
	return nil
}

type wireTracer struct{}

// SIPTraceRead is a no-op: TCP reads are arbitrary stream chunks, so reads
// are traced from parsed messages instead (see Server.traceRead).
func (wireTracer) SIPTraceRead(string, string, string, []byte) {}

func (wireTracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	if tracesCount.Load() == 0 && preludeCount.Load() == 0 {
		return
	}
	w := scanWire(msg)
	if len(w.callID) == 0 {
		return
	}
	ours, theirs := w.fromTag, w.toTag
	if w.response {
		ours, theirs = w.toTag, w.fromTag
	}
	e := TraceEntry{Time: time.Now(), Direction: DirectionOut, Transport: transport, Local: laddr, Remote: raddr, Message: string(msg)}
	t := lookupTrace(string(w.callID), string(ours), string(theirs))
	if t == nil {
		if preludeCount.Load() > 0 {
			appendPrelude(string(w.callID), e) // a challenge, before the call's trace starts
		}
		return
	}
	t.add(e)
}

// wireIDs are the dialog identifiers found in a raw message.
type wireIDs struct {
	response       bool
	callID         []byte
	fromTag, toTag []byte
}

// scanWire finds the Call-ID and the From/To tags (full or compact header
// names) in the header section of a raw SIP message.
func scanWire(msg []byte) wireIDs {
	var w wireIDs
	w.response = bytes.HasPrefix(msg, []byte("SIP/"))
	if end := bytes.Index(msg, []byte("\r\n\r\n")); end >= 0 {
		msg = msg[:end+2]
	}
	for len(msg) > 0 {
		nl := bytes.IndexByte(msg, '\n')
		line := msg
		if nl >= 0 {
			line, msg = msg[:nl], msg[nl+1:]
		} else {
			msg = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("call-id")) || bytes.EqualFold(name, []byte("i")):
			w.callID = value
		case bytes.EqualFold(name, []byte("from")) || bytes.EqualFold(name, []byte("f")):
			w.fromTag = tagParam(value)
		case bytes.EqualFold(name, []byte("to")) || bytes.EqualFold(name, []byte("t")):
			w.toTag = tagParam(value)
		}
	}
	return w
}

// tagParam returns the tag parameter of a From/To value (outside <...>).
func tagParam(v []byte) []byte {
	if gt := bytes.LastIndexByte(v, '>'); gt >= 0 {
		v = v[gt+1:]
	}
	for len(v) > 0 {
		semi := bytes.IndexByte(v, ';')
		if semi < 0 {
			return nil
		}
		v = v[semi+1:]
		p := v
		if next := bytes.IndexByte(p, ';'); next >= 0 {
			p = p[:next]
		}
		k, val, ok := bytes.Cut(p, []byte("="))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("tag")) {
			return bytes.TrimSpace(val)
		}
	}
	return nil
}

// cseqOf is the CSeq header value of a message ("1 INVITE"), "" when it
// has none. It returns a piece of msg: nothing is allocated.
func cseqOf(msg string) string {
	for rest := msg; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break // end of the header section
		}
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "CSeq") {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
