package wav

import "github.com/wasmvoice/wasmvoice/media/g711"

func ulaw(b byte) int16 { return g711.DecodeUlaw(b) }
func alaw(b byte) int16 { return g711.DecodeAlaw(b) }
