// Command faulty is a test guest for the server's module failure handling:
// the application's key-value entry "mode" picks how initiate fails; with no
// mode it answers, showing what reached it.
package main

import "github.com/wasmvoice/wasmvoice/sdk"

var hoard [][]byte

func init() {
	// sip.inbound attaches a variable; initiate reports what it saw of it
	// and of the event, so a test can read both off the call record.
	sdk.On(sdk.EventSIPInbound, func(ev sdk.Event) sdk.Decision {
		return sdk.Continue().SetVariable("from_hook", "inbound saw "+ev.SIP.Method)
	})
	sdk.On(sdk.EventInitiate, func(ev sdk.Event) sdk.Decision {
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
		case "stream":
			// Streams the call to the WebSocket the "dest" entry names.
			dest, _, _ := sdk.KVGet("dest")
			return sdk.BXML(`<Response><StartStream name="from-module" destination="` + string(dest) + `"/>` +
				`<Pause duration="2"/><StopStream name="from-module" wait="true"/><Hangup/></Response>`)
		}
		sdk.Log(sdk.LevelInfo, "initiate "+ev.CallID())
		return sdk.BXML(`<Response><Hangup/></Response>`).
			SetVariable("initiate_saw", ev.Variable("from_hook")).
			SetVariable("initiate_call", ev.CallID()).
			SetVariable("initiate_direction", ev.String("direction"))
	})
	// Stream events reach the module too.
	sdk.On(sdk.EventMediaStreamStarted, func(ev sdk.Event) sdk.Decision {
		ms, _ := ev.Value("mediaStream").(map[string]any)
		name, _ := ms["name"].(string)
		return sdk.BXML("").SetVariable("stream_started", name)
	})
}

type errFailing struct{}

func (errFailing) Error() string { return "failing on purpose" }

func main() {}
