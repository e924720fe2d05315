// Package speech holds the node's speech engines behind small interfaces:
// speech-to-text (pocketsphinx run locally, or a self-hosted recogniser over
// HTTP) that transcribes recordings, and the bounded queue that runs
// transcriptions off the call path. The media package feeds it audio and
// knows no engine.
package speech

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/media/wav"
)

// Recognizer turns a recording into text.
type Recognizer interface {
	// Transcribe reads the WAV file at path (8 kHz recordings, one or two
	// channels) and returns what was said, one speaker per channel. It
	// stops when ctx ends.
	Transcribe(ctx context.Context, path string) (Result, error)
}

// Result is a recording's transcription, shaped as the Voice API's
// recordingTranscriptions: a transcript per speaker and timed clips.
type Result struct {
	Transcripts []Transcript `json:"transcripts"`
	Clips       []Clip       `json:"clips"`
}

// Transcript is what one speaker (a channel of the recording) said.
type Transcript struct {
	Speaker    int     `json:"speaker"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"` // 0-1; 0 when the engine gives none
}

// Clip is a stretch of one speaker's speech.
type Clip struct {
	Speaker    int     `json:"speaker"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
	Start      float64 `json:"startTimeSeconds"`
	End        float64 `json:"endTimeSeconds"`
}

// Text is every speaker's text, in speaker order, one line each.
func (r Result) Text() string {
	parts := make([]string, 0, len(r.Transcripts))
	for _, t := range r.Transcripts {
		if t.Text != "" {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// ErrAudio is wrapped by errors about a recording that cannot be read or
// is too long to transcribe.
var ErrAudio = errors.New("speech: unusable audio")

// MaxAudio is the longest recording a recogniser takes (the WAV decoder's
// own cap is an hour of 8 kHz mono).
const MaxAudio = 30 * time.Minute

// channel is one channel of a recording as mono samples.
type channel struct {
	rate    int
	samples []int16
}

// readChannels decodes the WAV at path into its channels.
func readChannels(path string) ([]channel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAudio, err)
	}
	defer f.Close()
	a, err := wav.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAudio, path, err)
	}
	if a.Channels < 1 || a.SampleRate <= 0 {
		return nil, fmt.Errorf("%w: %s: %d channels at %d Hz", ErrAudio, path, a.Channels, a.SampleRate)
	}
	frames := len(a.Samples) / a.Channels
	if d := time.Duration(frames) * time.Second / time.Duration(a.SampleRate); d > MaxAudio {
		return nil, fmt.Errorf("%w: %s lasts %s, longer than %s", ErrAudio, path, d.Round(time.Second), MaxAudio)
	}
	out := make([]channel, a.Channels)
	for ch := range out {
		s := make([]int16, frames)
		for i := range s {
			s[i] = a.Samples[i*a.Channels+ch]
		}
		out[ch] = channel{rate: a.SampleRate, samples: s}
	}
	return out, nil
}

// limitedBuffer keeps the first n bytes written to it (a child's stderr for
// an error message) and drops the rest.
type limitedBuffer struct {
	b []byte
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return strings.TrimSpace(string(l.b)) }
