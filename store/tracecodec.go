package store

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// A call's SIP trace is saved as one row of call_traces (migration 0021):
// the messages framed and deflated. One row per message (call_sip_messages)
// was about half of a call's save: nine B-tree inserts into a table and its
// key for a short call, where one insert of a compressed blob does.
//
// The blob: a version byte (traceCodecV1), then a deflate stream of a
// uvarint message count and, per message, its time as varint Unix
// nanoseconds and five uvarint-length-prefixed strings: direction,
// transport, local address, remote address, message.

const traceCodecV1 = 1

// maxTraceBlob bounds what decoding a stored trace may inflate to: far
// above a real call's (a trace keeps at most a few hundred messages of at
// most 64 KiB each), so a damaged row cannot make the server allocate
// without bound.
const maxTraceBlob = 32 << 20

var errTraceBlob = errors.New("damaged trace blob")

// flateWriters are reused: a flate.Writer allocates about 600 KiB.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid: no error
	return w
}}

// frames are reused framing buffers (a short call's trace frames to about
// 5 KiB, garbage as soon as it is deflated).
var frames = sync.Pool{New: func() any { return new([]byte) }}

// encodeTrace frames and deflates a trace.
func encodeTrace(trace []SIPMessage) ([]byte, error) {
	frame := frames.Get().(*[]byte)
	defer frames.Put(frame)
	raw := (*frame)[:0]
	defer func() {
		if cap(raw) <= 1<<20 { // a huge trace's buffer is not kept
			*frame = raw[:0]
		}
	}()
	raw = binary.AppendUvarint(raw, uint64(len(trace)))
	for _, m := range trace {
		raw = binary.AppendVarint(raw, m.At.UnixNano())
		for _, s := range [...]string{m.Direction, m.Transport, m.LocalAddr, m.RemoteAddr, m.Message} {
			raw = binary.AppendUvarint(raw, uint64(len(s)))
			raw = append(raw, s...)
		}
	}
	var out bytes.Buffer
	out.Grow(len(raw)/3 + 64)
	out.WriteByte(traceCodecV1)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("compress trace: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress trace: %w", err)
	}
	return out.Bytes(), nil
}

// decodeTrace is encodeTrace's inverse. Times come back in UTC.
func decodeTrace(blob []byte) ([]SIPMessage, error) {
	if len(blob) == 0 || blob[0] != traceCodecV1 {
		return nil, fmt.Errorf("%w: unknown version", errTraceBlob)
	}
	r := flate.NewReader(bytes.NewReader(blob[1:]))
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, maxTraceBlob+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTraceBlob, err)
	}
	if len(raw) > maxTraceBlob {
		return nil, fmt.Errorf("%w: larger than %d bytes", errTraceBlob, maxTraceBlob)
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > uint64(len(raw)) { // every message takes at least a byte
		return nil, fmt.Errorf("%w: bad count", errTraceBlob)
	}
	raw = raw[k:]
	out := make([]SIPMessage, 0, n)
	var fields [5]string
	for range n {
		at, k := binary.Varint(raw)
		if k <= 0 {
			return nil, fmt.Errorf("%w: bad time", errTraceBlob)
		}
		raw = raw[k:]
		for i := range fields {
			l, k := binary.Uvarint(raw)
			if k <= 0 || l > uint64(len(raw)-k) {
				return nil, fmt.Errorf("%w: bad length", errTraceBlob)
			}
			fields[i] = string(raw[k : k+int(l)])
			raw = raw[k+int(l):]
		}
		out = append(out, SIPMessage{At: time.Unix(0, at).UTC(), Direction: fields[0], Transport: fields[1],
			LocalAddr: fields[2], RemoteAddr: fields[3], Message: fields[4]})
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errTraceBlob)
	}
	return out, nil
}
