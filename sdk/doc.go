// Package sdk is the guest side of the wasmvoice Wasm ABI (version 1): the
// event and decision types shared with the host (package wasmhost), handler
// registration, and the host calls a module may make (Log, KVGet, KVSet).
//
// A module is a WASI preview 1 reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o handler.wasm .
//
// It registers its handlers in init (main is never called in a reactor):
//
//	func init() {
//		sdk.On(sdk.EventInitiate, func(ev sdk.Event) sdk.Decision {
//			return sdk.BXML(`<Response><SpeakSentence>Hello</SpeakSentence></Response>`)
//		})
//	}
//
//	func main() {}
//
// The host calls are behind a wasm build tag; native builds get an in-memory
// stand-in so handler logic unit-tests with plain `go test` through Dispatch.
// The ABI itself, for guests in other languages, is in README.md.
package sdk
