package media

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/g722"
	"github.com/wasmvoice/wasmvoice/media/g729"
	"github.com/wasmvoice/wasmvoice/media/opus"
)

// PCMDecoder turns one stream's RTP payloads of one codec into 16-bit mono
// PCM at the rate it was made for. It keeps the codec's state between
// packets, so each received stream needs its own, used by one goroutine at
// a time. Close frees it (Opus holds C memory).
type PCMDecoder interface {
	// Decode appends the samples of one payload to dst.
	Decode(dst []int16, payload []byte) ([]int16, error)
	Close()
}

// PCMEncoder turns 16-bit mono PCM at the rate it was made for into RTP
// payloads of one codec, one packet's worth of samples per call (20 ms is
// what every codec here takes; Opus takes 10, 20, 40 or 60 ms). Like
// PCMDecoder it is stateful, per stream, and closed after use.
type PCMEncoder interface {
	// Encode appends the payload for pcm to dst.
	Encode(dst []byte, pcm []int16) ([]byte, error)
	Close()
}

// Transcodable reports whether this server can decode and encode c:
// G.711, G.722, Opus when libopus is loaded and G.729 when EnableG729 loaded
// libbcg729.
func (c Codec) Transcodable() bool {
	switch {
	case c.isG711(), c.sameFormat(CodecG722):
		return true
	case c.sameFormat(CodecOpus):
		return opus.Available()
	case c.sameFormat(CodecG729):
		return g729On.Load()
	}
	return false
}

// g729On: G.729 is transcoded only when the operator asked for it
// (EnableG729, --g729). libbcg729 is GPL-3.0+: nothing of it is linked or
// shipped, and a node loads it only on that explicit request.
var g729On atomic.Bool

// EnableG729 loads libbcg729 and turns G.729 transcoding on for the
// process; without it G.729 is only passed through.
func EnableG729() error {
	if err := g729.Load(); err != nil {
		return err
	}
	g729On.Store(true)
	return nil
}

// NewPCMDecoder returns a decoder from c's payloads to PCM at rate Hz (8000
// or 16000; Opus also 12000, 24000 or 48000). Errors wrap
// ErrCodecUnsupported. G.729 takes and yields 10 ms multiples.
func NewPCMDecoder(c Codec, rate int) (PCMDecoder, error) {
	switch {
	case c.sameFormat(CodecPCMU), c.sameFormat(CodecPCMA):
		d := g711Codec{ulaw: c.sameFormat(CodecPCMU)}
		return withRate(&d, nil, 8000, rate)
	case c.sameFormat(CodecG722):
		return withRate(g722Decoder{g722.NewDecoder()}, nil, g722.SampleRate, rate)
	case c.sameFormat(CodecOpus):
		d, err := opus.NewDecoder(rate)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCodecUnsupported, err)
		}
		return d, nil
	case c.sameFormat(CodecG729) && g729On.Load():
		d, err := g729.NewDecoder()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCodecUnsupported, err)
		}
		return withRate(d, nil, 8000, rate)
	}
	return nil, fmt.Errorf("%w: %s/%d", ErrCodecUnsupported, c.Name, c.ClockRate)
}

// NewPCMEncoder returns an encoder from PCM at rate Hz to c's payloads, with
// the same rates as NewPCMDecoder. Opus is encoded with FEC and DTX off.
func NewPCMEncoder(c Codec, rate int) (PCMEncoder, error) {
	switch {
	case c.sameFormat(CodecPCMU), c.sameFormat(CodecPCMA):
		e := g711Codec{ulaw: c.sameFormat(CodecPCMU)}
		return withRate(nil, &e, 8000, rate)
	case c.sameFormat(CodecG722):
		return withRate(nil, g722Encoder{g722.NewEncoder()}, g722.SampleRate, rate)
	case c.sameFormat(CodecOpus):
		e, err := opus.NewEncoder(rate, opusOptions(c.Fmtp))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCodecUnsupported, err)
		}
		return e, nil
	case c.sameFormat(CodecG729) && g729On.Load():
		e, err := g729.NewEncoder()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCodecUnsupported, err)
		}
		return withRate(nil, e, 8000, rate)
	}
	return nil, fmt.Errorf("%w: %s/%d", ErrCodecUnsupported, c.Name, c.ClockRate)
}

// opusOptions follows the receiver's RFC 7587 fmtp: FEC and DTX only when
// it asks (useinbandfec=1, usedtx=1), its maxaveragebitrate as the cap.
func opusOptions(fmtp string) opus.EncoderOptions {
	var o opus.EncoderOptions
	for _, p := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "useinbandfec":
			o.FEC = v == "1"
		case "usedtx":
			o.DTX = v == "1"
		case "maxaveragebitrate":
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n >= 6000 && n < 32000 {
				o.Bitrate = n
			}
		}
	}
	if o.FEC {
		o.PacketLossPercent = 5
	}
	return o
}

// withRate adapts a codec working at native Hz to rate through a halfband
// filter (16 kHz <-> 8 kHz), or returns it as is.
func withRate(d PCMDecoder, e PCMEncoder, native, rate int) (*rated, error) {
	r := &rated{dec: d, enc: e}
	switch {
	case rate == native:
	case native == 16000 && rate == 8000:
		r.down = true
	case native == 8000 && rate == 16000:
		r.up = true
	default:
		return nil, fmt.Errorf("%w: %d Hz PCM for a %d Hz codec", ErrCodecUnsupported, rate, native)
	}
	return r, nil
}

// rated is a decoder or encoder whose PCM passes through a halfband filter.
type rated struct {
	dec      PCMDecoder
	enc      PCMEncoder
	up, down bool
	hb       halfband
	scratch  []int16
}

func (r *rated) Decode(dst []int16, payload []byte) ([]int16, error) {
	if !r.up && !r.down {
		return r.dec.Decode(dst, payload)
	}
	var err error
	if r.scratch, err = r.dec.Decode(r.scratch[:0], payload); err != nil {
		return dst, err
	}
	return r.convert(dst, r.scratch), nil
}

func (r *rated) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if !r.up && !r.down {
		return r.enc.Encode(dst, pcm)
	}
	// The encoder's native rate is the reverse of the decoder's: PCM at
	// rate goes through the opposite filter.
	if r.down {
		r.scratch = r.hb.up(r.scratch[:0], pcm)
	} else {
		r.scratch = r.hb.down(r.scratch[:0], pcm)
	}
	return r.enc.Encode(dst, r.scratch)
}

func (r *rated) convert(dst, pcm []int16) []int16 {
	if r.down {
		return r.hb.down(dst, pcm)
	}
	return r.hb.up(dst, pcm)
}

func (r *rated) Close() {
	if r.dec != nil {
		r.dec.Close()
	}
	if r.enc != nil {
		r.enc.Close()
	}
}

type g711Codec struct{ ulaw bool }

func (g *g711Codec) Decode(dst []int16, p []byte) ([]int16, error) {
	if g.ulaw {
		return g711.DecodeUlawBuf(dst, p), nil
	}
	return g711.DecodeAlawBuf(dst, p), nil
}

func (g *g711Codec) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if g.ulaw {
		return g711.EncodeUlawBuf(dst, pcm), nil
	}
	return g711.EncodeAlawBuf(dst, pcm), nil
}

func (g *g711Codec) Close() {}

type g722Decoder struct{ d *g722.Decoder }

func (g g722Decoder) Decode(dst []int16, p []byte) ([]int16, error) { return g.d.Decode(dst, p), nil }
func (g g722Decoder) Close()                                        {}

type g722Encoder struct{ e *g722.Encoder }

func (g g722Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if len(pcm)%2 != 0 {
		return dst, errors.New("media: G.722 needs an even number of 16 kHz samples")
	}
	return g.e.Encode(dst, pcm), nil
}
func (g g722Encoder) Close() {}
