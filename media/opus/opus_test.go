package opus

import (
	"math"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

func need(t testing.TB) {
	t.Helper()
	_, err := Load()
	testenv.Need(t, "libopus (libopus0)", err)
}

func sine(freq float64, rate, n int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// toneRatio is the share of pcm's energy at freq (Goertzel), 0..1.
func toneRatio(pcm []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+c*s1-s2, s1
		total += x * x
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(pcm)) * total)
}

func TestRoundTrip(t *testing.T) {
	need(t)
	v, _ := Load()
	t.Logf("libopus %s", v)
	for _, tc := range []struct {
		rate int
		freq float64
	}{{8000, 1000}, {16000, 1000}, {16000, 5000}, {48000, 440}} {
		enc, err := NewEncoder(tc.rate, EncoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(tc.rate)
		if err != nil {
			t.Fatal(err)
		}
		frame := tc.rate / 50
		in := sine(tc.freq, tc.rate, tc.rate, 8000)
		var out []int16
		for off := 0; off+frame <= len(in); off += frame {
			pkt, err := enc.Encode(nil, in[off:off+frame])
			if err != nil {
				t.Fatal(err)
			}
			if len(pkt) == 0 || len(pkt) > 200 {
				t.Fatalf("20 ms packet of %d bytes", len(pkt))
			}
			if out, err = dec.Decode(out, pkt); err != nil {
				t.Fatal(err)
			}
		}
		enc.Close()
		dec.Close()
		if len(out) != len(in) {
			t.Fatalf("%d Hz: decoded %d samples, want %d", tc.rate, len(out), len(in))
		}
		// Skip the codec's start-up; the tone must dominate what comes out.
		if r := toneRatio(out[tc.rate/4:], tc.freq, tc.rate); r < 0.9 {
			t.Errorf("%d Hz, %.0f Hz tone: only %.2f of the decoded energy is the tone", tc.rate, tc.freq, r)
		}
	}
}

func TestConcealAndCorrupt(t *testing.T) {
	need(t)
	dec, err := NewDecoder(8000)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	out, err := dec.Decode(nil, nil)
	if err != nil || len(out) != 160 {
		t.Fatalf("concealment: %d samples, %v", len(out), err)
	}
	// A code of 3 (arbitrary frame count) with a zero count is invalid.
	if _, err := dec.Decode(nil, []byte{0x03, 0x00}); err == nil {
		t.Fatal("a corrupt packet decoded")
	}
}

func TestBadFrameSize(t *testing.T) {
	need(t)
	enc, err := NewEncoder(8000, EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if _, err := enc.Encode(nil, make([]int16, 240)); err == nil { // 30 ms
		t.Fatal("30 ms encoded")
	}
	if _, err := NewEncoder(44100, EncoderOptions{}); err == nil {
		t.Fatal("44.1 kHz accepted")
	}
}

func FuzzDecode(f *testing.F) {
	need(f)
	f.Add([]byte{0x78, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		dec, err := NewDecoder(8000)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		_, _ = dec.Decode(nil, b)
	})
}
