package media

import "math"

// halfbandTaps is the length of the 2:1 low-pass filter: a Blackman-windowed
// sinc cut at a quarter of the higher rate, enough to keep 4-8 kHz out of
// 8 kHz audio (about 70 dB down) at a fixed delay of 23 samples at 16 kHz.
const halfbandTaps = 47

var halfbandKernel = func() (h [halfbandTaps]float32) {
	const mid = (halfbandTaps - 1) / 2
	var sum float64
	w := make([]float64, halfbandTaps)
	for i := range w {
		x := float64(i - mid)
		w[i] = 0.5 * sinc(x/2) * blackman(x/float64(mid+1))
		sum += w[i]
	}
	for i := range w {
		h[i] = float32(w[i] / sum) // unity gain at DC
	}
	return h
}()

// halfband converts a stream between 16 and 8 kHz by 2:1 decimation or 1:2
// interpolation through halfbandKernel. Unlike resample it keeps the filter's
// history across calls, so 20 ms packets join without clicks. One value
// converts one direction of one stream; it is not safe for concurrent use.
type halfband struct {
	hist [halfbandTaps - 1]float32 // the last input samples (zero-stuffed when interpolating)
	buf  []float32
}

// fill puts hist and then in (each sample followed by stuff-1 zeros) in h.buf.
func (h *halfband) fill(in []int16, stuff int) []float32 {
	n := len(h.hist) + len(in)*stuff
	if cap(h.buf) < n {
		h.buf = make([]float32, n)
	}
	b := h.buf[:n]
	copy(b, h.hist[:])
	x := b[len(h.hist):]
	clear(x)
	for i, v := range in {
		x[i*stuff] = float32(v)
	}
	copy(h.hist[:], b[n-len(h.hist):])
	return b
}

// down appends in (16 kHz) decimated to 8 kHz to dst. len(in) should be even.
func (h *halfband) down(dst []int16, in []int16) []int16 {
	b := h.fill(in, 1)
	for j := 0; j+1 < len(in); j += 2 {
		dst = append(dst, h.at(b, len(h.hist)+j+1, 1))
	}
	return dst
}

// up appends in (8 kHz) interpolated to 16 kHz to dst.
func (h *halfband) up(dst []int16, in []int16) []int16 {
	b := h.fill(in, 2)
	for j := range 2 * len(in) {
		dst = append(dst, h.at(b, len(h.hist)+j, 2))
	}
	return dst
}

// at is the filter's output for the input sample at b[end] (the newest one it
// sees), scaled by gain.
func (h *halfband) at(b []float32, end int, gain float32) int16 {
	var s float32
	x := b[end-halfbandTaps+1 : end+1]
	for k, w := range halfbandKernel {
		s += w * x[halfbandTaps-1-k]
	}
	return clip16(int32(math.Round(float64(s * gain))))
}
