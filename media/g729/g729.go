// Package g729 encodes and decodes ITU-T G.729 (8 kbit/s CS-ACELP, 10 ms
// frames of 80 samples at 8 kHz) with Belledonne's bcg729, the system's
// libbcg729.so.0 (Debian libbcg729-0, GPL-3.0+), loaded with dlopen at run
// time: nothing of it is linked or shipped, the build needs no headers, and
// without the library G.729 is simply unavailable (Load says why).
//
// The encoder runs without Annex B (no VAD, no SID frames); the decoder
// takes Annex B SID frames as a peer may send them. Encoder and Decoder are
// stateful and not safe for concurrent use; Close frees the C state.
package g729

import (
	"errors"
	"fmt"
	"sync"
)

// ErrUnavailable means libbcg729 could not be loaded.
var ErrUnavailable = errors.New("g729: libbcg729 unavailable")

// Frame sizes: 10 ms is 80 samples, coded in 10 bytes; an Annex B SID frame
// is 2 bytes.
const (
	FrameSamples = 80
	FrameBytes   = 10
	sidBytes     = 2
)

var loaded = sync.OnceValue(load)

// Load opens libbcg729 once; the error wraps ErrUnavailable.
func Load() error { return loaded() }

// Available reports whether libbcg729 is loaded (loading it on first use).
func Available() bool { return Load() == nil }

// Encoder encodes 8 kHz PCM to G.729.
type Encoder struct {
	e   *encoder
	buf [FrameBytes]byte // C writes here: a field, so it is not allocated per call
}

// NewEncoder returns an encoder without VAD.
func NewEncoder() (*Encoder, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	e, err := newEncoder()
	if err != nil {
		return nil, err
	}
	return &Encoder{e: e}, nil
}

// Encode appends the G.729 frames of pcm to dst; len(pcm) must be a multiple
// of 80 (10 ms).
func (e *Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if e.e == nil {
		return dst, errors.New("g729: encoder closed")
	}
	if len(pcm)%FrameSamples != 0 {
		return dst, fmt.Errorf("g729: %d samples is not a whole number of 10 ms frames", len(pcm))
	}
	for off := 0; off < len(pcm); off += FrameSamples {
		n := e.e.encode(e.buf[:], pcm[off:off+FrameSamples])
		dst = append(dst, e.buf[:min(n, FrameBytes)]...)
	}
	return dst, nil
}

// Close frees the encoder.
func (e *Encoder) Close() {
	if e.e != nil {
		e.e.close()
		e.e = nil
	}
}

// Decoder decodes G.729 (and Annex B SID frames) to 8 kHz PCM.
type Decoder struct {
	d   *decoder
	out [FrameSamples]int16 // C writes here
}

// NewDecoder returns a decoder.
func NewDecoder() (*Decoder, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	d, err := newDecoder()
	if err != nil {
		return nil, err
	}
	return &Decoder{d: d}, nil
}

// Decode appends the samples of a payload to dst: 80 per 10-byte frame, and
// 80 of comfort noise for a trailing 2-byte SID frame (RFC 3551 §4.5.6).
func (d *Decoder) Decode(dst []int16, payload []byte) ([]int16, error) {
	if d.d == nil {
		return dst, errors.New("g729: decoder closed")
	}
	frames, rest := len(payload)/FrameBytes, len(payload)%FrameBytes
	if rest != 0 && rest != sidBytes {
		return dst, fmt.Errorf("g729: payload of %d bytes", len(payload))
	}
	for i := range frames {
		d.d.decode(d.out[:], payload[i*FrameBytes:(i+1)*FrameBytes], false)
		dst = append(dst, d.out[:]...)
	}
	if rest == sidBytes {
		d.d.decode(d.out[:], payload[frames*FrameBytes:], true)
		dst = append(dst, d.out[:]...)
	}
	return dst, nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.d != nil {
		d.d.close()
		d.d = nil
	}
}
