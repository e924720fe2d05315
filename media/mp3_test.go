package media

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// A minute of 8 kHz WAV, mono and two-channel, becomes an MP3 that decodes
// (with the decoder PlayAudio uses) to the same length and is not silent.
func TestMP3Encode(t *testing.T) {
	testenv.LookTool(t, "lame")
	e := NewMP3Encoder(MP3Options{})
	for _, channels := range []int{1, 2} {
		dir := t.TempDir()
		samples := make([]int16, 60*sampleRate*channels)
		for i := range samples {
			samples[i] = int16(8000 * math.Sin(2*math.Pi*400*float64(i/channels)/sampleRate))
		}
		in := filepath.Join(dir, "r.wav")
		if err := os.WriteFile(in, wav.Encode(sampleRate, channels, samples), 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "r.mp3")
		t0 := time.Now()
		n, err := e.Encode(context.Background(), in, out, channels)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d channel(s): 60 s of audio encoded in %s, %d bytes", channels, time.Since(t0).Round(time.Millisecond), n)
		b, err := os.ReadFile(out)
		if err != nil || int64(len(b)) != n {
			t.Fatalf("mp3 file: %d bytes, reported %d: %v", len(b), n, err)
		}
		if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("temporary file left: %v", err)
		}
		pcm, err := DecodeAudio(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if got := time.Duration(len(pcm)) * time.Second / sampleRate; got < 59*time.Second || got > 61*time.Second {
			t.Errorf("decoded %s, want 60 s", got)
		}
		var sum float64
		for _, s := range pcm {
			sum += float64(s) * float64(s)
		}
		if rms := math.Sqrt(sum / float64(len(pcm))); rms < 2000 {
			t.Errorf("decoded RMS %.0f, want about 5600 (the tone)", rms)
		}
	}
}

// Without its binary the encoder says so, and a failed encode leaves no
// file behind.
func TestMP3EncodeFailures(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewMP3Encoder(MP3Options{Binary: "no-such-lame"}).Encode(context.Background(), "x.wav", "x.mp3", 1); !errors.Is(err, ErrMP3Unavailable) {
		t.Errorf("missing binary: %v", err)
	}
	testenv.LookTool(t, "lame")
	in := filepath.Join(dir, "junk.wav")
	if err := os.WriteFile(in, []byte("not a wav file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "junk.mp3")
	if _, err := NewMP3Encoder(MP3Options{}).Encode(context.Background(), in, out, 1); err == nil {
		t.Error("junk input encoded")
	}
	for _, p := range []string{out, out + ".part"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", filepath.Base(p), err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewMP3Encoder(MP3Options{}).Encode(ctx, in, out, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled encode: %v", err)
	}
}
