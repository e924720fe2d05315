package media

import "math"

// resample converts mono 16-bit audio from one rate to another with a
// windowed-sinc (Blackman) interpolator whose cutoff sits below the lower
// Nyquist frequency, so downsampling 44.1/48 kHz prompts to 8 kHz does not
// alias. The kernel only depends on the output sample's phase between input
// samples; for the usual rational ratios (44100:8000 has 80 phases, 48000:8000
// one) the kernels are computed once, so the cost is a plain FIR.
func resample(in []int16, from, to int) []int16 {
	if from == to || len(in) == 0 || from <= 0 || to <= 0 {
		return in
	}
	ratio := float64(from) / float64(to)
	cutoff := 0.95 * math.Min(1, 1/ratio) // fraction of the input Nyquist
	const halfTaps = 8
	width := float64(halfTaps) / cutoff // input samples each side
	g := gcd(from, to)
	a, b := from/g, to/g // output n sits at input n*a/b
	outLen := int(int64(len(in)) * int64(b) / int64(a))
	out := make([]int16, outLen)

	type kernel struct {
		first int // offset of w[0] from the integer input position
		w     []float64
	}
	makeKernel := func(frac float64) kernel {
		lo := int(math.Ceil(frac - width))
		hi := int(math.Floor(frac + width))
		k := kernel{first: lo, w: make([]float64, 0, hi-lo+1)}
		var sum float64
		for j := lo; j <= hi; j++ {
			x := float64(j) - frac
			w := cutoff * sinc(cutoff*x) * blackman(x/width)
			k.w = append(k.w, w)
			sum += w
		}
		for i := range k.w {
			k.w[i] /= sum // unity gain at DC
		}
		return k
	}
	var cache []kernel
	if b <= 4096 {
		cache = make([]kernel, b)
		for p := range cache {
			cache[p] = makeKernel(float64(p) / float64(b))
		}
	}
	for n := 0; n < outLen; n++ {
		num := int64(n) * int64(a)
		base := int(num / int64(b))
		phase := int(num % int64(b))
		var k kernel
		if cache != nil {
			k = cache[phase]
		} else {
			k = makeKernel(float64(phase) / float64(b))
		}
		var sum float64
		for i, w := range k.w {
			if j := base + k.first + i; j >= 0 && j < len(in) {
				sum += float64(in[j]) * w
			}
		}
		out[n] = clip16(int32(math.Round(sum)))
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window on [-1, 1].
func blackman(x float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	p := math.Pi * (x + 1)
	return 0.42 - 0.5*math.Cos(p) + 0.08*math.Cos(2*p)
}

// Resample converts mono 16-bit audio from one sample rate to another (a
// speech recogniser's 16 kHz, say) with the same filter the media path uses.
func Resample(in []int16, from, to int) []int16 { return resample(in, from, to) }
