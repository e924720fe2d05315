package media

import (
	"errors"
	"math"
	"testing"
)

// snrAgainst compares got with want delayed by delay samples, from skip on.
func snrAgainst(want, got []int16, delay, skip int) float64 {
	var sig, noise float64
	for i := skip; i < len(want) && i+delay < len(got); i++ {
		d := float64(got[i+delay]) - float64(want[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/math.Max(noise, 1))
}

func sineAt(freq float64, rate, n, offset int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i+offset)/float64(rate)))
	}
	return s
}

// The halfband filter converts a stream in 20 ms pieces as if it were one
// block: no clicks where packets join, and a tone keeps its level.
func TestHalfbandStreams(t *testing.T) {
	var down, up halfband
	var at8k, back []int16
	for i := range 50 {
		at8k = down.down(at8k, sineAt(1000, 16000, 320, i*320))
	}
	if len(at8k) != 50*160 {
		t.Fatalf("decimated to %d samples", len(at8k))
	}
	want := sineAt(1000, 8000, len(at8k), 0)
	// Output j is centred 23 samples before the newest input (2j+1) at
	// 16 kHz: 11 samples late at 8 kHz.
	if db := snrAgainst(want, at8k, 11, 200); db < 40 {
		t.Errorf("16 -> 8 kHz SNR %.1f dB", db)
	}
	for i := 0; i < len(at8k); i += 160 {
		back = up.up(back, at8k[i:i+160])
	}
	// Up adds its own 23 samples at 16 kHz to the 22 of the way down.
	if db := snrAgainst(sineAt(1000, 16000, len(back), 0), back, 45, 400); db < 35 {
		t.Errorf("16 -> 8 -> 16 kHz SNR %.1f dB", db)
	}
	// Above 4 kHz is stopped on the way down.
	var hf halfband
	if r := rms16(hf.down(nil, sineAt(6000, 16000, 3200, 0))[100:]); r > 10 {
		t.Errorf("6 kHz leaks through at RMS %.1f", r)
	}
}

func rms16(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(pcm), 1)))
}

// Every codec round-trips a tone at 8 and 16 kHz through PCMEncoder and
// PCMDecoder.
func TestPCMCodecsRoundTrip(t *testing.T) {
	for _, c := range []Codec{CodecPCMU, CodecPCMA, CodecG722, CodecOpus, CodecG729} {
		for _, rate := range []int{8000, 16000} {
			switch {
			case c.sameFormat(CodecOpus):
				needOpus(t)
			case c.sameFormat(CodecG729):
				needG729(t)
			}
			enc, err := NewPCMEncoder(c, rate)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewPCMDecoder(c, rate)
			if err != nil {
				t.Fatal(err)
			}
			frame := rate / 50
			var out []int16
			for i := range 25 {
				p, err := enc.Encode(nil, sineAt(800, rate, frame, i*frame))
				if err != nil {
					t.Fatal(err)
				}
				if out, err = dec.Decode(out, p); err != nil {
					t.Fatal(err)
				}
			}
			enc.Close()
			dec.Close()
			if len(out) != 25*frame {
				t.Fatalf("%s at %d Hz: %d samples back, want %d", c.Name, rate, len(out), 25*frame)
			}
			if share := toneShare(out[len(out)/2:], 800, rate); share < 0.9 {
				t.Errorf("%s at %d Hz: 800 Hz tone share %.2f", c.Name, rate, share)
			}
		}
	}
	if _, err := NewPCMDecoder(Codec{Name: "GSM", ClockRate: 8000}, 8000); !errors.Is(err, ErrCodecUnsupported) {
		t.Errorf("GSM: %v", err)
	}
	if _, err := NewPCMEncoder(CodecG722, 44100); !errors.Is(err, ErrCodecUnsupported) {
		t.Errorf("G.722 at 44.1 kHz: %v", err)
	}
}
