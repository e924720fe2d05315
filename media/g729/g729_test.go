package g729

import (
	"math"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

func need(t testing.TB) {
	t.Helper()
	testenv.Need(t, "libbcg729 (libbcg729-0)", Load())
}

func toneShare(pcm []int16, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+c*s1-s2, s1
		total += x * x
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (float64(len(pcm)) * total)
}

func TestRoundTrip(t *testing.T) {
	need(t)
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []int16
	for i := range 50 { // one second in 20 ms packets
		pcm := make([]int16, 160)
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*700*float64(i*160+j)/8000))
		}
		p, err := enc.Encode(nil, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 20 {
			t.Fatalf("20 ms coded in %d bytes, want 20", len(p))
		}
		if out, err = dec.Decode(out, p); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != 8000 {
		t.Fatalf("decoded %d samples", len(out))
	}
	if r := toneShare(out[2000:], 700); r < 0.8 {
		t.Errorf("700 Hz tone share %.2f after G.729", r)
	}
	// A SID frame decodes to 10 ms of comfort noise; other sizes are refused.
	if got, err := dec.Decode(nil, []byte{0x12, 0x34}); err != nil || len(got) != 80 {
		t.Errorf("SID: %d samples, %v", len(got), err)
	}
	if _, err := dec.Decode(nil, make([]byte, 7)); err == nil {
		t.Error("7-byte payload decoded")
	}
	if _, err := enc.Encode(nil, make([]int16, 100)); err == nil {
		t.Error("100 samples encoded")
	}
}

func FuzzDecode(f *testing.F) {
	need(f)
	f.Add(make([]byte, 22))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, _ = d.Decode(nil, b)
	})
}
