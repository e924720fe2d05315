package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/hajimehoshi/go-mp3"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// maxSourceBytes caps a fetched or read play source.
const maxSourceBytes = 64 << 20

// LoadAudio reads a WAV or MP3 file from a path or an http(s) URL and
// returns it as 8 kHz mono 16-bit samples, ready to play.
func (m *Manager) LoadAudio(ctx context.Context, src string) ([]int16, error) {
	var r io.ReadCloser
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("media: play source %q: %w", src, err)
		}
		resp, err := m.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("media: fetching %q: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("media: fetching %q: HTTP %s", src, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("media: opening play source: %w", err)
		}
		r = f
	}
	defer r.Close()
	pcm, err := DecodeAudio(io.LimitReader(r, maxSourceBytes))
	if err != nil {
		return nil, fmt.Errorf("media: play source %q: %w", src, err)
	}
	return pcm, nil
}

// DecodeAudio sniffs WAV (RIFF) or MP3 (ID3 tag or frame sync) and decodes
// to 8 kHz mono.
func DecodeAudio(r io.Reader) ([]int16, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	var a *wav.Audio
	var err error
	switch {
	case bytes.HasPrefix(head, []byte("RIFF")):
		a, err = wav.Decode(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedAudio, err)
		}
	case bytes.HasPrefix(head, []byte("ID3")) || len(head) >= 2 && head[0] == 0xff && head[1]&0xe0 == 0xe0:
		a, err = decodeMP3(br)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: neither WAV nor MP3", ErrUnsupportedAudio)
	}
	return resample(a.Mono(), a.SampleRate, sampleRate), nil
}

// decodeMP3 uses go-mp3, which always yields 16-bit little-endian stereo.
func decodeMP3(r io.Reader) (a *wav.Audio, err error) {
	defer func() {
		// go-mp3 is not hardened against every malformed stream; a panic
		// there must not take the server down.
		if p := recover(); p != nil {
			a, err = nil, fmt.Errorf("%w: MP3 decoder failed: %v", ErrUnsupportedAudio, p)
		}
	}()
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return nil, fmt.Errorf("%w: MP3: %w", ErrUnsupportedAudio, err)
	}
	raw, err := io.ReadAll(io.LimitReader(d, maxSourceBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: MP3: %w", ErrUnsupportedAudio, err)
	}
	s := make([]int16, len(raw)/2)
	for i := range s {
		s[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	}
	s = s[:len(s)/2*2]
	if d.SampleRate() < 4000 {
		return nil, fmt.Errorf("%w: MP3 sample rate %d", ErrUnsupportedAudio, d.SampleRate())
	}
	return &wav.Audio{SampleRate: d.SampleRate(), Channels: 2, Samples: s}, nil
}
