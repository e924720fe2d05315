package media

import (
	"math"
	"testing"
)

// A 400 Hz tone keeps its level through every supported rate; a 6 kHz tone
// (above the 4 kHz Nyquist of 8 kHz) is filtered out instead of aliasing.
func TestResample(t *testing.T) {
	for _, rate := range []int{11025, 16000, 22050, 44100, 48000} {
		pass := resample(sine(rate, 1, 0.5, 400), rate, 8000)
		if want := 4000; abs(len(pass)-want) > 1 {
			t.Fatalf("%d Hz: %d samples, want %d", rate, len(pass), want)
		}
		if e := meanAbs(pass[400:3600]); math.Abs(float64(e)-5093) > 250 { // 8000*2/π
			t.Errorf("%d Hz: 400 Hz tone mean abs %d, want about 5093", rate, e)
		}
		stop := resample(sine(rate, 1, 0.5, 6000), rate, 8000)
		if e := meanAbs(stop[400:3600]); e > 200 {
			t.Errorf("%d Hz: 6 kHz tone leaks through at mean abs %d", rate, e)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkResample44kTo8k(b *testing.B) {
	in := sine(44100, 1, 1, 400)
	b.SetBytes(int64(len(in) * 2))
	for b.Loop() {
		resample(in, 44100, 8000)
	}
}
