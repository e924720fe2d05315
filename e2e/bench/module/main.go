// Command module is the benchmark's Wasm call handler: it answers the
// call-initiated event with the same BXML as the benchmark's webhook
// (e2e/bench/hook) and every other event with no BXML, so the two call
// setup loads differ only in where the answer comes from.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bench.wasm ./e2e/bench/module
package main

import "github.com/wasmvoice/wasmvoice/sdk"

// Answer is the call flow; run.sh gives the webhook the same document.
const Answer = `<Response><SpeakSentence>Hello from the benchmark.</SpeakSentence><Hangup/></Response>`

func init() {
	sdk.On(sdk.EventInitiate, func(sdk.Event) sdk.Decision { return sdk.BXML(Answer) })
}

func main() {}
