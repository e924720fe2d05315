package e2e

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// wavPCM returns the samples of a 16-bit WAV file (the first channel of a
// stereo one: baresip records Opus calls at 48 kHz stereo) and their rate. A
// recording still being written may have no sizes in its header yet
// (baresip's sndfile and linphone's recorder complete it on close; linphone
// leaves it zeroed until then), so the data is whatever follows the 44-byte
// header, and the rate is G.711's 8000 Hz, the only one the server speaks,
// unless the header names one.
func wavPCM(b []byte) (pcm []byte, rate int) {
	if len(b) <= 44 {
		return nil, 8000
	}
	rate = 8000
	channels := 1
	if string(b[0:4]) == "RIFF" && string(b[12:16]) == "fmt " {
		if r := int(binary.LittleEndian.Uint32(b[24:28])); r > 0 {
			rate = r
		}
		if c := int(binary.LittleEndian.Uint16(b[22:24])); c > 1 {
			channels = c
		}
	}
	pcm = b[44:]
	if channels == 1 {
		return pcm, rate
	}
	mono := make([]byte, 0, len(pcm)/channels)
	for i := 0; i+2*channels <= len(pcm); i += 2 * channels {
		mono = append(mono, pcm[i], pcm[i+1])
	}
	return mono, rate
}

// toneShare is the share of pcm's power at freq (Goertzel): about 1 for a
// pure tone of that frequency, near 0 for speech. It tells the server's
// speech from a phone's own microphone tone coming back.
func toneShare(pcm []byte, rate, freq int) float64 {
	n := len(pcm) / 2
	if n == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*float64(freq)/float64(rate))
	var s1, s2, energy float64
	for i := range n {
		x := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		energy += x * x
		s1, s2 = x+coeff*s1-s2, s1
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(n) * energy)
}

func rms(pcm []byte) float64 {
	n := len(pcm) / 2
	if n == 0 {
		return 0
	}
	var sum float64
	for i := range n {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		sum += v * v
	}
	return math.Sqrt(sum / float64(n))
}

// toneWAV is a mono 16-bit PCM WAV file of a sine tone.
func toneWAV(rate, freq int, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := range n {
		w(int16(8000 * math.Sin(2*math.Pi*float64(freq)*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// The check that tells speech from a returned microphone tone.
func TestToneShare(t *testing.T) {
	tone := toneWAV(8000, 440, time.Second)[44:]
	if s := toneShare(tone, 8000, 440); s < 0.9 {
		t.Errorf("440 Hz tone: share %.3f, want about 1", s)
	}
	other := toneWAV(8000, 1000, time.Second)[44:]
	if s := toneShare(other, 8000, 440); s > 0.05 {
		t.Errorf("1000 Hz tone: share %.3f, want about 0", s)
	}
}

func TestWAVPCM(t *testing.T) {
	w := toneWAV(16000, 440, 10*time.Millisecond)
	if pcm, rate := wavPCM(w); rate != 16000 || len(pcm) != 320 {
		t.Errorf("complete file: %d bytes at %d Hz, want 320 at 16000", len(pcm), rate)
	}
	growing := append(make([]byte, 44), w[44:]...) // linphone's, before the call ends
	if pcm, rate := wavPCM(growing); rate != 8000 || len(pcm) != 320 {
		t.Errorf("file without a header yet: %d bytes at %d Hz, want 320 at 8000", len(pcm), rate)
	}
}
