package wav

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A file cut short with the provisional header (data size 0) and half a
// frame at the end decodes after Repair, with every whole frame.
func TestRepair(t *testing.T) {
	samples := make([]int16, 1000)
	for i := range samples {
		samples[i] = int16(i * 7)
	}
	full := Encode(8000, 2, samples)
	cut := append(header(8000, 2, 0), full[HeaderSize:HeaderSize+1003]...) // 250 frames and 3 bytes
	path := filepath.Join(t.TempDir(), "r.wav")
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := Repair(path, 8000, 2)
	if err != nil || n != 1000 {
		t.Fatalf("Repair = %d, %v; want 1000 bytes", n, err)
	}
	b, _ := os.ReadFile(path)
	a, err := Decode(bytes.NewReader(b))
	if err != nil || a.Channels != 2 || len(a.Samples) != 500 || a.Samples[499] != samples[499] {
		t.Fatalf("decoded %+v, %v", a, err)
	}
	// A file with no samples at all keeps its header.
	empty := filepath.Join(t.TempDir(), "e.wav")
	os.WriteFile(empty, header(8000, 1, 0)[:20], 0o600)
	if n, err := Repair(empty, 8000, 1); err != nil || n != 0 {
		t.Fatalf("empty: %d, %v", n, err)
	}
}
