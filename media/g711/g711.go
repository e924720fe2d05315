// Package g711 implements ITU-T G.711 μ-law and A-law companding.
//
// The encoders follow the ITU-T G.191 Software Tools Library reference
// (g711.c: alaw_compress, ulaw_compress, alaw_expand, ulaw_expand) bit for bit,
// including its one's-complement handling of negative samples, so that audio
// we encode matches what reference-conformant equipment produces. Encoding
// and decoding go through lookup tables built once at init; the μ-law↔A-law
// transcoding tables are decode-then-encode through 16-bit linear with the
// same reference algorithm.
package g711

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	linearToUlaw [65536]byte
	linearToAlaw [65536]byte
	ulawToAlaw   [256]byte
	alawToUlaw   [256]byte
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToLinear[i] = ulawExpand(byte(i))
		alawToLinear[i] = alawExpand(byte(i))
	}
	for i := 0; i < 65536; i++ {
		s := int16(uint16(i))
		linearToUlaw[i] = ulawCompress(s)
		linearToAlaw[i] = alawCompress(s)
	}
	for i := 0; i < 256; i++ {
		ulawToAlaw[i] = linearToAlaw[uint16(ulawToLinear[i])]
		alawToUlaw[i] = linearToUlaw[uint16(alawToLinear[i])]
	}
}

// alawCompress encodes one 16-bit sample (13 significant bits) to A-law.
func alawCompress(s int16) byte {
	var ix int32
	if s < 0 {
		ix = int32(^s) >> 4 // one's complement, as the reference does
	} else {
		ix = int32(s) >> 4
	}
	if ix > 15 {
		exp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix -= 16
		ix += exp << 4
	}
	if s >= 0 {
		ix |= 0x80
	}
	return byte(ix ^ 0x55)
}

// alawExpand decodes one A-law byte to a 16-bit sample.
func alawExpand(b byte) int16 {
	ix := int32(b^0x55) & 0x7f
	exp := ix >> 4
	mant := ix & 0x0f
	if exp > 0 {
		mant += 16
	}
	mant = (mant << 4) + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if b > 127 {
		return int16(mant)
	}
	return int16(-mant)
}

// ulawCompress encodes one 16-bit sample (14 significant bits) to μ-law.
func ulawCompress(s int16) byte {
	var abs int32
	if s < 0 {
		abs = (int32(^s) >> 2) + 33
	} else {
		abs = (int32(s) >> 2) + 33
	}
	if abs > 0x1fff {
		abs = 0x1fff
	}
	i := abs >> 6
	seg := int32(1)
	for i != 0 {
		seg++
		i >>= 1
	}
	high := 0x08 - seg
	low := 0x0f - ((abs >> seg) & 0x0f)
	out := (high << 4) | low
	if s >= 0 {
		out |= 0x80
	}
	return byte(out)
}

// ulawExpand decodes one μ-law byte to a 16-bit sample.
func ulawExpand(b byte) int16 {
	sign := int32(1)
	if b < 0x80 {
		sign = -1
	}
	m := int32(^b)
	exp := (m >> 4) & 0x07
	seg := exp + 1
	m &= 0x0f
	step := int32(4) << seg
	return int16(sign * ((0x80 << exp) + step*m + step/2 - 4*33))
}

// The codes of a zero sample: what a frame of silence is filled with.
const (
	UlawSilence byte = 0xff
	AlawSilence byte = 0xd5
)

// DecodeUlaw returns the linear value of a μ-law byte.
func DecodeUlaw(b byte) int16 { return ulawToLinear[b] }

// DecodeAlaw returns the linear value of an A-law byte.
func DecodeAlaw(b byte) int16 { return alawToLinear[b] }

// EncodeUlaw returns the μ-law byte for a linear sample.
func EncodeUlaw(s int16) byte { return linearToUlaw[uint16(s)] }

// EncodeAlaw returns the A-law byte for a linear sample.
func EncodeAlaw(s int16) byte { return linearToAlaw[uint16(s)] }

// UlawToAlaw transcodes one μ-law byte to A-law.
func UlawToAlaw(b byte) byte { return ulawToAlaw[b] }

// AlawToUlaw transcodes one A-law byte to μ-law.
func AlawToUlaw(b byte) byte { return alawToUlaw[b] }

// UlawToAlawBuf transcodes src into dst (len(dst) >= len(src)) and returns
// the written part of dst. dst and src may be the same slice.
func UlawToAlawBuf(dst, src []byte) []byte {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawToAlaw[b]
	}
	return dst
}

// AlawToUlawBuf transcodes src into dst (len(dst) >= len(src)). dst and src
// may be the same slice.
func AlawToUlawBuf(dst, src []byte) []byte {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawToUlaw[b]
	}
	return dst
}

// DecodeUlawBuf appends the linear samples of src to dst.
func DecodeUlawBuf(dst []int16, src []byte) []int16 {
	for _, b := range src {
		dst = append(dst, ulawToLinear[b])
	}
	return dst
}

// DecodeAlawBuf appends the linear samples of src to dst.
func DecodeAlawBuf(dst []int16, src []byte) []int16 {
	for _, b := range src {
		dst = append(dst, alawToLinear[b])
	}
	return dst
}

// EncodeUlawBuf appends the μ-law bytes of src to dst.
func EncodeUlawBuf(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, linearToUlaw[uint16(s)])
	}
	return dst
}

// EncodeAlawBuf appends the A-law bytes of src to dst.
func EncodeAlawBuf(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, linearToAlaw[uint16(s)])
	}
	return dst
}
