package wav

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rate, ch int
	}{{"8k mono", 8000, 1}, {"16k mono", 16000, 1}, {"44.1k stereo", 44100, 2}, {"48k stereo", 48000, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			in := make([]int16, 1000*tc.ch)
			for i := range in {
				in[i] = int16(i*37 - 20000)
			}
			a, err := Decode(bytes.NewReader(Encode(tc.rate, tc.ch, in)))
			if err != nil {
				t.Fatal(err)
			}
			if a.SampleRate != tc.rate || a.Channels != tc.ch || len(a.Samples) != len(in) {
				t.Fatalf("got %d Hz %d ch %d samples", a.SampleRate, a.Channels, len(a.Samples))
			}
			for i := range in {
				if a.Samples[i] != in[i] {
					t.Fatalf("sample %d: %d != %d", i, a.Samples[i], in[i])
				}
			}
		})
	}
}

func TestDecodeStreamingSizeAndExtraChunks(t *testing.T) {
	b := Encode(8000, 1, []int16{1, 2, 3, 4})
	// Insert a LIST chunk before data and declare a huge data size, as
	// streaming writers do.
	list := append([]byte("LIST\x05\x00\x00\x00abcde\x00"), b[36:]...)
	b = append(b[:36:36], list...)
	copy(b[36+14+4:], []byte{0xff, 0xff, 0xff, 0x7f})
	a, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Samples) != 4 || a.Samples[3] != 4 {
		t.Fatalf("samples %v", a.Samples)
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":      nil,
		"not riff":   []byte("RIFX\x00\x00\x00\x00WAVE"),
		"no fmt":     []byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"),
		"float":      func() []byte { b := Encode(8000, 1, nil); b[20] = 3; return b }(),
		"zero chans": func() []byte { b := Encode(8000, 1, nil); b[22] = 0; return b }(),
	} {
		if _, err := Decode(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func TestWriterPatchesHeader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.wav")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, 320)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(p)
	if len(b) != HeaderSize+640 {
		t.Fatalf("size %d", len(b))
	}
	a, err := Decode(bytes.NewReader(b))
	if err != nil || a.Channels != 2 || len(a.Samples) != 320 {
		t.Fatalf("decode: %v %+v", err, a)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(8000, 1, []int16{0, 100, -100}))
	f.Add(Encode(48000, 2, []int16{0, 1, 2, 3}))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x07\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x02\x00\x00\x00\xff\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		if a.Channels < 1 || len(a.Samples)%a.Channels != 0 {
			t.Fatalf("inconsistent audio: %d channels, %d samples", a.Channels, len(a.Samples))
		}
		_ = a.Mono()
	})
}
