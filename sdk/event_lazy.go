package sdk

import (
	"fmt"
	"unsafe"
)

// Decoding an event lazily.
//
// Under WebAssembly a Go guest pays dearly for each allocation and map
// insert, and decoding every member of an event into Fields was most of
// what a warm module spent per event. Dispatch therefore decodes only the
// envelope (v, event, variables, and the request members of SIP hooks) and
// indexes the other members where they lie in the event text; String and
// Value decode one member when a handler asks for it.

// member is a top-level event member left undecoded: its name and where its
// value lies in the event text.
type member struct {
	key        string
	start, end int
}

// lazyFields is an event's undecoded members.
type lazyFields struct {
	src     string
	members []member
}

// find returns the member called key.
func (l *lazyFields) find(key string) (member, bool) {
	if l == nil {
		return member{}, false
	}
	for _, m := range l.members {
		if m.key == key {
			return m, true
		}
	}
	return member{}, false
}

// reader reads the event text from a member's value. The reader only
// reads, so it may view the immutable string's bytes.
func (l *lazyFields) reader(m member) *jsonReader {
	src := l.src[:m.end]
	return &jsonReader{b: unsafe.Slice(unsafe.StringData(src), len(src)), src: src, i: m.start}
}

// value decodes a member's value as encoding/json would into an any.
func (l *lazyFields) value(m member) any { return l.reader(m).value(1) }

// str decodes a member whose value is a JSON string, without boxing it.
func (l *lazyFields) str(m member) (string, bool) {
	if l.src[m.start] != '"' {
		return "", false
	}
	r := l.reader(m)
	return r.str(), r.err == nil
}

// decodeEvent is UnmarshalJSON for Dispatch: the same checks on the same
// input, but the members other than the envelope stay in the text.
func decodeEvent(b []byte) (Event, error) {
	src := string(b)
	r := &jsonReader{b: b, src: src}
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return Event{}, fmt.Errorf("sdk: event: %w at offset %d: expected an object", errJSON, r.i)
	}
	r.i++
	lazy := &lazyFields{src: src, members: make([]member, 0, 24)}
	envelope := map[string]any{}
	r.space()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
	} else {
		for r.err == nil {
			r.space()
			if r.i >= len(r.b) || r.b[r.i] != '"' {
				r.fail("expected a member name")
				break
			}
			k := r.key()
			r.space()
			if r.i >= len(r.b) || r.b[r.i] != ':' {
				r.fail("expected ':'")
				break
			}
			r.i++
			r.space()
			start := r.i
			if isReserved(k) || isSIPKey(k) {
				// Envelope members, and the members a SIP hook's request
				// takes, are decoded now (which ones apply is known only
				// once "event" has been read).
				v := r.value(1)
				if r.err == nil {
					envelope[k] = v
					lazy.members = append(lazy.members, member{k, start, r.i})
				}
			} else {
				lazy.skipValue(r)
				if r.err == nil {
					lazy.members = append(lazy.members, member{k, start, r.i})
				}
			}
			if r.err != nil {
				break
			}
			r.space()
			if r.i >= len(r.b) {
				r.fail("unterminated object")
				break
			}
			if r.b[r.i] == ',' {
				r.i++
				continue
			}
			if r.b[r.i] == '}' {
				r.i++
				break
			}
			r.fail("expected ',' or '}'")
		}
	}
	r.space()
	if r.err == nil && r.i != len(r.b) {
		r.fail("data after the object")
	}
	if r.err != nil {
		return Event{}, fmt.Errorf("sdk: event: %w", r.err)
	}
	// A repeated member: the last one wins, as in encoding/json.
	dedupe(lazy)
	var e Event
	if err := e.fromEnvelope(envelope); err != nil {
		return Event{}, err
	}
	kept := lazy.members[:0]
	for _, m := range lazy.members {
		if !isReserved(m.key) && !(e.SIP != nil && isSIPKey(m.key)) {
			kept = append(kept, m)
		}
	}
	lazy.members = kept
	if len(kept) > 0 {
		e.lazy = lazy
	}
	return e, nil
}

// skipValue moves r past one value. Strings (nearly every member of a call
// event) are checked without allocating; anything else is decoded and
// dropped, which checks it the same way.
func (l *lazyFields) skipValue(r *jsonReader) {
	if r.i < len(r.b) && r.b[r.i] == '"' {
		r.str()
		return
	}
	r.value(1)
}

// dedupe keeps the last of members with the same name.
func dedupe(l *lazyFields) {
	ms := l.members
	out := ms[:0]
	for i, m := range ms {
		dup := false
		for _, later := range ms[i+1:] {
			if later.key == m.key {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	l.members = out
}
