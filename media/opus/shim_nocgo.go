//go:build !cgo

package opus

import "fmt"

// Without cgo there is no way to call libopus: Opus is unavailable.
func load() (string, error) {
	return "", fmt.Errorf("%w: built without cgo", ErrUnavailable)
}

type encoder struct{}

func newEncoder(int, int, EncoderOptions) (*encoder, error) { return nil, ErrUnavailable }
func (*encoder) encode([]byte, []int16, int) (int, error)   { return 0, ErrUnavailable }
func (*encoder) close()                                     {}

type decoder struct{}

func newDecoder(int, int) (*decoder, error)               { return nil, ErrUnavailable }
func (*decoder) decode([]int16, []byte, int) (int, error) { return 0, ErrUnavailable }
func (*decoder) close()                                   {}
