package testenv

import "math"

// ToneAmplitude estimates the amplitude of the hz component of pcm (8 kHz
// or rate), with the Goertzel algorithm: about A for a sinusoid A·sin(2πft)
// whose frequency falls on the analysis bin, near 0 when the tone is absent.
// Tests use it to tell which of several mixed tones a party hears.
func ToneAmplitude(pcm []int16, rate, hz float64) float64 {
	n := float64(len(pcm))
	if n == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range pcm {
		s1, s2 = float64(v)+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / n
}

// Tone returns n samples of a sine of amplitude amp at hz, starting at
// sample offset off (so consecutive frames join without a click).
func Tone(n int, rate, hz, amp float64, off int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(off+i)/rate))
	}
	return out
}
