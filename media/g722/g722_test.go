package g722

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

func sine(freq float64, n int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return s
}

// codecDelay is the delay of the two QMFs (24 taps each) in samples.
const codecDelay = 22

// snr compares out with in delayed by the codec, from sample skip on.
func snr(in, out []int16, skip int) float64 {
	var sig, noise float64
	for i := skip; i+codecDelay < len(out) && i < len(in); i++ {
		d := float64(out[i+codecDelay]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/math.Max(noise, 1))
}

func TestSineRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		freq   float64
		amp    float64
		minSNR float64
	}{
		{"speech band 1 kHz", 1000, 8000, 20},
		{"low 300 Hz", 300, 10000, 20},
		{"wideband 5 kHz", 5000, 6000, 10},
		{"quiet 1 kHz", 1000, 500, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sine(tc.freq, SampleRate, tc.amp) // one second
			enc, dec := NewEncoder(), NewDecoder()
			var out []int16
			// 20 ms packets, as on the wire: state carries across.
			for off := 0; off < len(in); off += 320 {
				p := enc.Encode(nil, in[off:off+320])
				if len(p) != 160 {
					t.Fatalf("20 ms encoded to %d bytes, want 160", len(p))
				}
				out = dec.Decode(out, p)
			}
			if len(out) != len(in) {
				t.Fatalf("decoded %d samples, want %d", len(out), len(in))
			}
			db := snr(in, out, 1600)
			t.Logf("SNR %.1f dB", db)
			if db < tc.minSNR {
				t.Errorf("SNR %.1f dB, want at least %.0f", db, tc.minSNR)
			}
		})
	}
}

// TestSilence checks the codec's idle pattern: digital silence stays near
// silent and the encoder settles on a steady code.
func TestSilence(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	code := enc.Encode(nil, make([]int16, 3200))
	out := dec.Decode(nil, code)
	for i, v := range out[200:] {
		if v > 16 || v < -16 {
			t.Fatalf("sample %d of silence decoded as %d", i+200, v)
		}
	}
}

// TestDeterministic checks that Reset restarts the stream exactly.
func TestDeterministic(t *testing.T) {
	in := sine(1234, 3200, 9000)
	enc := NewEncoder()
	a := enc.Encode(nil, in)
	enc.Reset()
	b := enc.Encode(nil, in)
	if string(a) != string(b) {
		t.Fatal("encoding after Reset differs")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0xff, 0x7f, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder()
		if out := d.Decode(nil, b); len(out) != 2*len(b) {
			t.Fatalf("%d bytes decoded to %d samples", len(b), len(out))
		}
	})
}

func BenchmarkEncode20ms(b *testing.B) {
	in := sine(1000, 320, 8000)
	enc := NewEncoder()
	buf := make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Encode(buf[:0], in)
	}
}

func BenchmarkDecode20ms(b *testing.B) {
	code := NewEncoder().Encode(nil, sine(1000, 320, 8000))
	dec := NewDecoder()
	buf := make([]int16, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		buf = dec.Decode(buf[:0], code)
	}
}

// TestSpanDSPVectors checks bit exactness against spandsp (the G.722 that
// baresip and Asterisk use): testdata/gen_spandsp.c encoded a noisy chirp
// with it and decoded the result, and we must produce the same bytes and
// samples.
func TestSpanDSPVectors(t *testing.T) {
	in := readPCM(t, "testdata/chirp16k.raw")
	want, err := os.ReadFile("testdata/chirp.g722")
	if err != nil {
		t.Fatal(err)
	}
	wantPCM := readPCM(t, "testdata/chirp_decoded16k.raw")
	got := NewEncoder().Encode(nil, in)
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("encoded byte %d is %#x, spandsp %#x (of %d)", i, got[i], want[i], len(want))
	}
	gotPCM := NewDecoder().Decode(nil, want)
	if i := firstDiff(gotPCM, wantPCM); i >= 0 {
		t.Fatalf("decoded sample %d is %d, spandsp %d (of %d)", i, gotPCM[i], wantPCM[i], len(wantPCM))
	}
}

func readPCM(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func firstDiff[T comparable](a, b []T) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}
