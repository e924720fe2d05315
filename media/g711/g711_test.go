package g711

import "testing"

// The functions below are a line-by-line port of the ITU-T G.191 STL g711.c
// reference (short arithmetic kept), used as the oracle for the tables.

func refAlawCompress(lin int16) int16 {
	var ix, iexp int16
	if lin < 0 {
		ix = (^lin) >> 4
	} else {
		ix = lin >> 4
	}
	if ix > 15 {
		iexp = 1
		for ix > 16+15 {
			ix >>= 1
			iexp++
		}
		ix -= 16
		ix += iexp << 4
	}
	if lin >= 0 {
		ix |= 0x0080
	}
	return ix ^ 0x0055
}

func refAlawExpand(logv int16) int16 {
	ix := logv ^ 0x0055
	ix &= 0x007F
	iexp := ix >> 4
	mant := ix & 0x000F
	if iexp > 0 {
		mant = mant + 16
	}
	mant = (mant << 4) + 0x0008
	if iexp > 1 {
		mant = mant << (iexp - 1)
	}
	if logv > 127 {
		return mant
	}
	return -mant
}

func refUlawCompress(lin int16) int16 {
	var absno int16
	if lin < 0 {
		absno = ((^lin) >> 2) + 33
	} else {
		absno = (lin >> 2) + 33
	}
	if absno > 0x1FFF {
		absno = 0x1FFF
	}
	i := absno >> 6
	segno := int16(1)
	for i != 0 {
		segno++
		i >>= 1
	}
	high := int16(0x0008) - segno
	low := (absno >> segno) & 0x000F
	low = 0x000F - low
	out := (high << 4) | low
	if lin >= 0 {
		out |= 0x0080
	}
	return out
}

func refUlawExpand(logv int16) int16 {
	sign := int16(1)
	if logv < 0x0080 {
		sign = -1
	}
	mantissa := ^logv
	exponent := (mantissa >> 4) & 0x0007
	segment := exponent + 1
	mantissa &= 0x000F
	step := int16(4) << segment
	return sign * ((0x0080 << exponent) + step*mantissa + step/2 - 4*33)
}

func TestEncodeMatchesReferenceForEveryLinearSample(t *testing.T) {
	for i := -32768; i <= 32767; i++ {
		s := int16(i)
		if got, want := EncodeUlaw(s), byte(refUlawCompress(s)); got != want {
			t.Fatalf("EncodeUlaw(%d) = %#02x, reference %#02x", s, got, want)
		}
		if got, want := EncodeAlaw(s), byte(refAlawCompress(s)); got != want {
			t.Fatalf("EncodeAlaw(%d) = %#02x, reference %#02x", s, got, want)
		}
	}
}

func TestDecodeAndTranscodeMatchReference(t *testing.T) {
	for i := 0; i < 256; i++ {
		b := byte(i)
		if got, want := DecodeUlaw(b), refUlawExpand(int16(i)); got != want {
			t.Fatalf("DecodeUlaw(%#02x) = %d, reference %d", b, got, want)
		}
		if got, want := DecodeAlaw(b), refAlawExpand(int16(i)); got != want {
			t.Fatalf("DecodeAlaw(%#02x) = %d, reference %d", b, got, want)
		}
		if got, want := UlawToAlaw(b), byte(refAlawCompress(refUlawExpand(int16(i)))); got != want {
			t.Fatalf("UlawToAlaw(%#02x) = %#02x, reference %#02x", b, got, want)
		}
		if got, want := AlawToUlaw(b), byte(refUlawCompress(refAlawExpand(int16(i)))); got != want {
			t.Fatalf("AlawToUlaw(%#02x) = %#02x, reference %#02x", b, got, want)
		}
	}
}

// Known code points from the G.711 tables (decision values scaled to 16 bits).
func TestKnownCodePoints(t *testing.T) {
	tests := []struct {
		name string
		got  int16
		want int16
	}{
		{"ulaw 0xFF is +0", DecodeUlaw(0xFF), 0},
		{"ulaw 0x7F is -0", DecodeUlaw(0x7F), 0},
		{"ulaw 0x80 is max", DecodeUlaw(0x80), 32124},
		{"ulaw 0x00 is min", DecodeUlaw(0x00), -32124},
		{"alaw 0xD5 is +8", DecodeAlaw(0xD5), 8},
		{"alaw 0x55 is -8", DecodeAlaw(0x55), -8},
		{"alaw 0xAA is max", DecodeAlaw(0xAA), 32256},
		{"alaw 0x2A is min", DecodeAlaw(0x2A), -32256},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d want %d", tc.name, tc.got, tc.want)
		}
	}
	if EncodeUlaw(0) != UlawSilence || EncodeAlaw(0) != AlawSilence {
		t.Errorf("silence encodes to %#02x/%#02x, want %#02x/%#02x", EncodeUlaw(0), EncodeAlaw(0), UlawSilence, AlawSilence)
	}
	// A-law → μ-law → A-law is transparent for every A-law code except where
	// μ-law is coarser (the two loudest segments are equal in both laws).
	for i := 0; i < 256; i++ {
		a := byte(i)
		back := UlawToAlaw(AlawToUlaw(a))
		if d := int(DecodeAlaw(back)) - int(DecodeAlaw(a)); d > 1024 || d < -1024 {
			t.Errorf("A %#02x -> μ -> A %#02x drifts by %d", a, back, d)
		}
	}
}

func TestBufHelpers(t *testing.T) {
	src := []byte{0x00, 0x7f, 0x80, 0xff, 0x13}
	dst := UlawToAlawBuf(make([]byte, 8), src)
	for i := range src {
		if dst[i] != UlawToAlaw(src[i]) {
			t.Fatal("UlawToAlawBuf mismatch")
		}
	}
	pcm := DecodeUlawBuf(nil, src)
	// μ-law has two zeros; the encoder picks +0 (0xFF).
	if got := EncodeUlawBuf(nil, pcm); string(got) != string([]byte{0x00, 0xff, 0x80, 0xff, 0x13}) {
		t.Fatalf("round trip %x", got)
	}
	in := append([]byte(nil), src...)
	AlawToUlawBuf(in, in)
	for i := range src {
		if in[i] != AlawToUlaw(src[i]) {
			t.Fatal("in-place AlawToUlawBuf mismatch")
		}
	}
}

func BenchmarkUlawToAlaw160(b *testing.B) {
	src := make([]byte, 160)
	for i := range src {
		src[i] = byte(i)
	}
	dst := make([]byte, 160)
	b.SetBytes(160)
	for b.Loop() {
		UlawToAlawBuf(dst, src)
	}
}

func BenchmarkEncodeUlaw160(b *testing.B) {
	src := make([]int16, 160)
	for i := range src {
		src[i] = int16(i * 200)
	}
	dst := make([]byte, 0, 160)
	b.SetBytes(160)
	for b.Loop() {
		dst = EncodeUlawBuf(dst[:0], src)
	}
}
