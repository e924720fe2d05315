// Package opus encodes and decodes Opus (RFC 6716) with the system's
// libopus, loaded at run time with dlopen("libopus.so.0"): the build needs
// no opus headers and the binary starts without the library, where Opus is
// simply unavailable (Load says why).
//
// Encoder and Decoder work on mono 16-bit PCM at 8, 12, 16, 24 or 48 kHz:
// libopus resamples internally, so a telephony leg at 8 kHz needs no
// resampler of ours. Neither is safe for concurrent use; Close frees the C
// state.
package opus

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrUnavailable means libopus could not be loaded.
var ErrUnavailable = errors.New("opus: libopus unavailable")

// ErrCorrupt means a packet could not be decoded.
var ErrCorrupt = errors.New("opus: corrupt packet")

var loaded = sync.OnceValues(load)

// Load opens libopus once and returns its version string, or an error
// wrapping ErrUnavailable.
func Load() (version string, err error) { return loaded() }

// Available reports whether libopus is loaded (loading it on first use).
func Available() bool {
	_, err := Load()
	return err == nil
}

// MaxFrameMillis is the longest Opus frame (RFC 6716 §2.1.4).
const MaxFrameMillis = 120

// EncoderOptions tune an Encoder. The zero value is ours by default for
// telephony: FEC and DTX off (RFC 7587 leaves both to the receiver's fmtp),
// 32 kbit/s, complexity 5.
type EncoderOptions struct {
	Bitrate           int  // bits per second, 6000-510000; 0 means 32000
	Complexity        int  // 0-10; 0 means 5
	FEC               bool // in-band forward error correction
	PacketLossPercent int  // expected loss, tunes FEC
	DTX               bool // discontinuous transmission
}

func validRate(rate int) bool {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

// Encoder encodes mono PCM to Opus packets.
type Encoder struct {
	e    *encoder
	rate int
}

// NewEncoder returns an encoder for mono PCM at rate Hz.
func NewEncoder(rate int, o EncoderOptions) (*Encoder, error) {
	if _, err := Load(); err != nil {
		return nil, err
	}
	if !validRate(rate) {
		return nil, fmt.Errorf("opus: unsupported rate %d", rate)
	}
	if o.Bitrate == 0 {
		o.Bitrate = 32000
	}
	if o.Complexity == 0 {
		o.Complexity = 5
	}
	e, err := newEncoder(rate, 1, o)
	if err != nil {
		return nil, err
	}
	return &Encoder{e: e, rate: rate}, nil
}

// maxPacket bounds one encoded packet (RFC 6716 allows 1275 bytes a frame).
const maxPacket = 1500

// Encode appends one Opus packet holding pcm to dst. len(pcm) must be a
// frame size libopus accepts: 2.5, 5, 10, 20, 40 or 60 ms at the rate.
func (e *Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if e.e == nil {
		return dst, errors.New("opus: encoder closed")
	}
	if !validFrame(len(pcm), e.rate) {
		return dst, fmt.Errorf("opus: %d samples at %d Hz is not an Opus frame size", len(pcm), e.rate)
	}
	n := len(dst)
	dst = slices.Grow(dst, maxPacket)
	w, err := e.e.encode(dst[n:n+maxPacket], pcm, len(pcm))
	if err != nil {
		return dst[:n], err
	}
	return dst[:n+w], nil
}

func validFrame(samples, rate int) bool {
	// 2.5 ms is rate/400; the others are multiples of it.
	unit := rate / 400
	if unit == 0 || samples%unit != 0 {
		return false
	}
	switch samples / unit {
	case 1, 2, 4, 8, 16, 24:
		return true
	}
	return false
}

// Close frees the encoder.
func (e *Encoder) Close() {
	if e.e != nil {
		e.e.close()
		e.e = nil
	}
}

// Decoder decodes Opus packets to mono PCM.
type Decoder struct {
	d    *decoder
	rate int
	buf  []int16
}

// NewDecoder returns a decoder producing mono PCM at rate Hz.
func NewDecoder(rate int) (*Decoder, error) {
	if _, err := Load(); err != nil {
		return nil, err
	}
	if !validRate(rate) {
		return nil, fmt.Errorf("opus: unsupported rate %d", rate)
	}
	d, err := newDecoder(rate, 1)
	if err != nil {
		return nil, err
	}
	return &Decoder{d: d, rate: rate, buf: make([]int16, rate*MaxFrameMillis/1000)}, nil
}

// Decode appends the samples of one packet to dst. An empty packet asks
// for concealment of one lost 20 ms frame.
func (d *Decoder) Decode(dst []int16, packet []byte) ([]int16, error) {
	if d.d == nil {
		return dst, errors.New("opus: decoder closed")
	}
	max := len(d.buf)
	if len(packet) == 0 {
		max = d.rate / 50
	}
	n, err := d.d.decode(d.buf, packet, max)
	if err != nil {
		return dst, err
	}
	return append(dst, d.buf[:n]...), nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.d != nil {
		d.d.close()
		d.d = nil
	}
}
