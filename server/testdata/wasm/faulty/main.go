// Command faulty is a test guest for the server's module failure handling:
// the application's key-value entry "mode" picks how initiate fails.
package main

import "github.com/wasmvoice/wasmvoice/sdk"

var hoard [][]byte

func init() {
	sdk.On(sdk.EventInitiate, func(sdk.Event) sdk.Decision {
		mode, _, _ := sdk.KVGet("mode")
		switch string(mode) {
		case "spin":
			for {
			}
		case "grow":
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		case "badbxml":
			return sdk.BXML(`<Response><SpeakSentense>typo</SpeakSentense></Response>`)
		case "fail":
			return sdk.Fail(errFailing{})
		}
		return sdk.BXML(`<Response><Hangup/></Response>`)
	})
}

type errFailing struct{}

func (errFailing) Error() string { return "failing on purpose" }

func main() {}
