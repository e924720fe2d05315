//go:build !cgo

package g729

import "fmt"

// Without cgo there is no way to call bcg729: G.729 is unavailable.
func load() error { return fmt.Errorf("%w: built without cgo", ErrUnavailable) }

type encoder struct{}

func newEncoder() (*encoder, error)         { return nil, ErrUnavailable }
func (*encoder) encode([]byte, []int16) int { return 0 }
func (*encoder) close()                     {}

type decoder struct{}

func newDecoder() (*decoder, error)           { return nil, ErrUnavailable }
func (*decoder) decode([]int16, []byte, bool) {}
func (*decoder) close()                       {}
