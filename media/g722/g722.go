// Package g722 is the ITU-T G.722 wideband codec (7 kHz audio, 16 kHz
// sampling) in its 64 kbit/s mode: a quadrature mirror filter splits the
// signal into two 8 kHz sub-bands, coded with 6-bit (low band) and 2-bit
// (high band) ADPCM, one byte per pair of input samples.
//
// It follows the integer arithmetic of the ITU-T reference algorithm
// (blocks 1L-6L and 1H-6H of the Recommendation), so streams interoperate
// bit for bit with other implementations (spandsp, which baresip and
// Asterisk use). Encoder and Decoder are stateful and not safe for
// concurrent use; each direction of each stream needs its own.
package g722

// SampleRate is the codec's audio rate. Its RTP clock is 8000 all the same
// (RFC 3551 §4.5.2 keeps the erroneous value of the first RTP profile).
const SampleRate = 16000

// Quantiser and adaptation tables of the Recommendation.
var (
	q6   = [32]int32{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	iln  = [32]int32{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	ilp  = [32]int32{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	wl   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	rl42 = [16]int32{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	ilb  = [32]int32{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	qm2  = [4]int32{-7408, -1616, 7408, 1616}
	qm4  = [16]int32{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	qm6  = [64]int32{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	ihn = [3]int32{0, 1, 0}
	ihp = [3]int32{0, 3, 2}
	wh  = [3]int32{0, -214, 798}
	rh2 = [4]int32{2, 1, 2, 1}
	// qmf is the 24-tap quadrature mirror filter, half of it (symmetric).
	qmf = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// band is the ADPCM state of one sub-band (low or high).
type band struct {
	s, sp, sz int32
	r, a, ap  [3]int32
	p         [3]int32
	d, b, bp  [7]int32
	sg        [7]int32
	nb, det   int32
}

// scale updates the log scale factor nb with the adaptation step and derives
// the linear step size det (blocks 3L/3H, LOGSCL and SCALEL).
func (bd *band) scale(step, maxNB, shift int32) {
	nb := (bd.nb*127)>>7 + step
	if nb < 0 {
		nb = 0
	} else if nb > maxNB {
		nb = maxNB
	}
	bd.nb = nb
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int32
	if wd2 < 0 {
		wd3 = ilb[wd1] << -wd2
	} else {
		wd3 = ilb[wd1] >> wd2
	}
	bd.det = wd3 << 2
}

// adapt is block 4: reconstruction, pole and zero predictor adaptation and
// the next prediction, given the quantised difference d.
func (bd *band) adapt(d int32) {
	bd.d[0] = d
	bd.r[0] = sat16(bd.s + d)
	bd.p[0] = sat16(bd.sz + d)

	// UPPOL2
	for i := 0; i < 3; i++ {
		bd.sg[i] = bd.p[i] >> 15
	}
	wd1 := sat16(bd.a[1] << 2)
	wd2 := wd1
	if bd.sg[0] == bd.sg[1] {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	wd3 := wd2 >> 7
	if bd.sg[0] == bd.sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (bd.a[2] * 32512) >> 15
	if wd3 > 12288 {
		wd3 = 12288
	} else if wd3 < -12288 {
		wd3 = -12288
	}
	bd.ap[2] = wd3

	// UPPOL1
	bd.sg[0] = bd.p[0] >> 15
	bd.sg[1] = bd.p[1] >> 15
	wd1 = -192
	if bd.sg[0] == bd.sg[1] {
		wd1 = 192
	}
	wd2 = (bd.a[1] * 32640) >> 15
	bd.ap[1] = sat16(wd1 + wd2)
	wd3 = sat16(15360 - bd.ap[2])
	if bd.ap[1] > wd3 {
		bd.ap[1] = wd3
	} else if bd.ap[1] < -wd3 {
		bd.ap[1] = -wd3
	}

	// UPZERO
	wd1 = 128
	if d == 0 {
		wd1 = 0
	}
	bd.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		bd.sg[i] = bd.d[i] >> 15
		wd2 = -wd1
		if bd.sg[i] == bd.sg[0] {
			wd2 = wd1
		}
		wd3 = (bd.b[i] * 32640) >> 15
		bd.bp[i] = sat16(wd2 + wd3)
	}

	// DELAYA
	for i := 6; i > 0; i-- {
		bd.d[i] = bd.d[i-1]
		bd.b[i] = bd.bp[i]
	}
	for i := 2; i > 0; i-- {
		bd.r[i] = bd.r[i-1]
		bd.p[i] = bd.p[i-1]
		bd.a[i] = bd.ap[i]
	}

	// FILTEP
	wd1 = sat16(bd.r[1] + bd.r[1])
	wd1 = (bd.a[1] * wd1) >> 15
	wd2 = sat16(bd.r[2] + bd.r[2])
	wd2 = (bd.a[2] * wd2) >> 15
	bd.sp = sat16(wd1 + wd2)

	// FILTEZ
	var sz int32
	for i := 6; i > 0; i-- {
		wd1 = sat16(bd.d[i] + bd.d[i])
		sz += (bd.b[i] * wd1) >> 15
	}
	bd.sz = sat16(sz)

	// PREDIC
	bd.s = sat16(bd.sp + bd.sz)
}

func (bd *band) reset(det int32) { *bd = band{det: det} }

// Encoder encodes 16 kHz 16-bit PCM to G.722 at 64 kbit/s.
type Encoder struct {
	low, high band
	x         [24]int32 // transmit QMF delay line
}

// NewEncoder returns an encoder in the Recommendation's reset state.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.Reset()
	return e
}

// Reset returns the encoder to its initial state (a new stream).
func (e *Encoder) Reset() {
	e.low.reset(32)
	e.high.reset(8)
	e.x = [24]int32{}
}

// Encode appends the G.722 code of pcm (16 kHz samples) to dst: one byte
// per two samples. An odd last sample is dropped.
func (e *Encoder) Encode(dst []byte, pcm []int16) []byte {
	for j := 0; j+1 < len(pcm); j += 2 {
		// Transmit QMF: shift two samples in, keep every other output.
		copy(e.x[:22], e.x[2:])
		e.x[22] = int32(pcm[j])
		e.x[23] = int32(pcm[j+1])
		var even, odd int32
		for i := 0; i < 12; i++ {
			odd += e.x[2*i] * qmf[i]
			even += e.x[2*i+1] * qmf[11-i]
		}
		xlow := (even + odd) >> 14
		xhigh := (even - odd) >> 14
		dst = append(dst, byte(e.high.encodeHigh(xhigh)<<6|e.low.encodeLow(xlow)))
	}
	return dst
}

// encodeLow is blocks 1L-4L: it quantises the low band to 6 bits.
func (bd *band) encodeLow(x int32) int32 {
	el := sat16(x - bd.s)
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	i := int32(1)
	for ; i < 30; i++ {
		if wd < (q6[i]*bd.det)>>12 {
			break
		}
	}
	il := ilp[i]
	if el < 0 {
		il = iln[i]
	}
	ril := il >> 2
	dlow := (bd.det * qm4[ril]) >> 15
	bd.scale(wl[rl42[ril]], 18432, 8)
	bd.adapt(dlow)
	return il
}

// encodeHigh is blocks 1H-4H: it quantises the high band to 2 bits.
func (bd *band) encodeHigh(x int32) int32 {
	eh := sat16(x - bd.s)
	wd := eh
	if eh < 0 {
		wd = -(eh + 1)
	}
	mih := int32(1)
	if wd >= (564*bd.det)>>12 {
		mih = 2
	}
	ih := ihp[mih]
	if eh < 0 {
		ih = ihn[mih]
	}
	dhigh := (bd.det * qm2[ih]) >> 15
	bd.scale(wh[rh2[ih]], 22528, 10)
	bd.adapt(dhigh)
	return ih
}

// Decoder decodes G.722 at 64 kbit/s to 16 kHz 16-bit PCM.
type Decoder struct {
	low, high band
	x         [24]int32 // receive QMF delay line
}

// NewDecoder returns a decoder in the Recommendation's reset state.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.Reset()
	return d
}

// Reset returns the decoder to its initial state (a new stream).
func (d *Decoder) Reset() {
	d.low.reset(32)
	d.high.reset(8)
	d.x = [24]int32{}
}

// Decode appends the 16 kHz samples of a G.722 payload to dst: two per
// byte.
func (d *Decoder) Decode(dst []int16, code []byte) []int16 {
	for _, c := range code {
		rlow := d.low.decodeLow(int32(c) & 0x3f)
		rhigh := d.high.decodeHigh(int32(c>>6) & 3)
		// Receive QMF: two output samples per input pair.
		copy(d.x[:22], d.x[2:])
		d.x[22] = rlow + rhigh
		d.x[23] = rlow - rhigh
		var out1, out2 int32
		for i := 0; i < 12; i++ {
			out2 += d.x[2*i] * qmf[i]
			out1 += d.x[2*i+1] * qmf[11-i]
		}
		dst = append(dst, int16(sat16(out1>>11)), int16(sat16(out2>>11)))
	}
	return dst
}

func limit14(v int32) int32 {
	if v > 16383 {
		return 16383
	}
	if v < -16384 {
		return -16384
	}
	return v
}

// decodeLow is blocks 2L-6L for a 6-bit low band code.
func (bd *band) decodeLow(il int32) int32 {
	rlow := limit14(bd.s + (bd.det*qm6[il])>>15)
	ril := il >> 2
	dlow := (bd.det * qm4[ril]) >> 15
	bd.scale(wl[rl42[ril]], 18432, 8)
	bd.adapt(dlow)
	return rlow
}

// decodeHigh is blocks 2H-6H for a 2-bit high band code.
func (bd *band) decodeHigh(ih int32) int32 {
	dhigh := (bd.det * qm2[ih]) >> 15
	rhigh := limit14(dhigh + bd.s)
	bd.scale(wh[rh2[ih]], 22528, 10)
	bd.adapt(dhigh)
	return rhigh
}
