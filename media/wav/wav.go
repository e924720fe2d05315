// Package wav reads and writes RIFF/WAVE audio: PCM 8/16/24/32-bit and
// G.711 (format tags 6 and 7) on input, 16-bit PCM on output.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("wav: unsupported or malformed file")

// MaxDataBytes caps the data chunk read into memory (about 3 minutes of 48 kHz
// stereo 16-bit, an hour of 8 kHz mono), so a hostile header cannot make us
// allocate without bound.
const MaxDataBytes = 64 << 20

const (
	formatPCM        = 1
	formatALaw       = 6
	formatULaw       = 7
	formatExtensible = 0xFFFE
)

// Audio is decoded audio: interleaved 16-bit samples.
type Audio struct {
	SampleRate int
	Channels   int
	Samples    []int16 // interleaved, len = frames*Channels
}

// Mono returns the audio mixed down to one channel (average of channels).
func (a *Audio) Mono() []int16 {
	if a.Channels == 1 {
		return a.Samples
	}
	n := len(a.Samples) / a.Channels
	out := make([]int16, n)
	for i := 0; i < n; i++ {
		var sum int32
		for c := 0; c < a.Channels; c++ {
			sum += int32(a.Samples[i*a.Channels+c])
		}
		out[i] = int16(sum / int32(a.Channels))
	}
	return out
}

type format struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	blockAlign int
}

// Decode reads a whole WAV stream. A data chunk whose declared size runs past
// the end of the stream (as streaming writers such as espeak-ng --stdout
// produce) is read up to the end.
func Decode(r io.Reader) (*Audio, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: reading RIFF header: %v", ErrFormat, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrFormat)
	}
	var f *format
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %v", ErrFormat, err)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk size %d", ErrFormat, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, fmt.Errorf("%w: reading fmt chunk: %v", ErrFormat, err)
			}
			pf, err := parseFmt(buf[:size])
			if err != nil {
				return nil, err
			}
			f = pf
		case "data":
			if f == nil {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrFormat)
			}
			limit := int64(size)
			if limit > MaxDataBytes {
				limit = MaxDataBytes
			}
			data, err := io.ReadAll(io.LimitReader(r, limit))
			if err != nil {
				return nil, fmt.Errorf("wav: reading data: %w", err)
			}
			return convert(f, data)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, fmt.Errorf("%w: skipping chunk %q: %v", ErrFormat, id, err)
			}
		}
	}
}

func parseFmt(b []byte) (*format, error) {
	f := &format{
		tag:        binary.LittleEndian.Uint16(b[0:2]),
		channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		rate:       int(binary.LittleEndian.Uint32(b[4:8])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:14])),
		bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.tag == formatExtensible {
		if len(b) < 40 {
			return nil, fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE fmt", ErrFormat)
		}
		f.tag = binary.LittleEndian.Uint16(b[24:26]) // first two bytes of the sub-format GUID
	}
	if f.channels < 1 || f.channels > 8 {
		return nil, fmt.Errorf("%w: %d channels", ErrFormat, f.channels)
	}
	if f.rate < 4000 || f.rate > 192000 {
		return nil, fmt.Errorf("%w: sample rate %d", ErrFormat, f.rate)
	}
	switch f.tag {
	case formatPCM:
		switch f.bits {
		case 8, 16, 24, 32:
		default:
			return nil, fmt.Errorf("%w: %d-bit PCM", ErrFormat, f.bits)
		}
	case formatALaw, formatULaw:
		if f.bits != 8 {
			return nil, fmt.Errorf("%w: %d-bit G.711", ErrFormat, f.bits)
		}
	default:
		return nil, fmt.Errorf("%w: format tag %#x", ErrFormat, f.tag)
	}
	if f.blockAlign != f.channels*f.bits/8 {
		return nil, fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrFormat, f.blockAlign, f.channels, f.bits)
	}
	return f, nil
}

func convert(f *format, data []byte) (*Audio, error) {
	n := len(data) / f.blockAlign * f.channels
	out := make([]int16, n)
	bytesPer := f.bits / 8
	for i := 0; i < n; i++ {
		p := data[i*bytesPer:]
		switch {
		case f.tag == formatULaw:
			out[i] = ulaw(p[0])
		case f.tag == formatALaw:
			out[i] = alaw(p[0])
		case f.bits == 8:
			out[i] = int16(int(p[0])-128) << 8
		case f.bits == 16:
			out[i] = int16(binary.LittleEndian.Uint16(p))
		case f.bits == 24:
			out[i] = int16(uint16(p[1]) | uint16(p[2])<<8)
		default:
			out[i] = int16(binary.LittleEndian.Uint32(p) >> 16)
		}
	}
	return &Audio{SampleRate: f.rate, Channels: f.channels, Samples: out}, nil
}
