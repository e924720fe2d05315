// Command conference is a test guest for conference events: initiate
// answers with <Conference>, and every conference event it gets is
// appended to the application's key-value entry "events" (type and the
// member's call ID), so a test can read what reached the module, in order.
package main

import "github.com/wasmvoice/wasmvoice/sdk"

func init() {
	sdk.On(sdk.EventInitiate, func(sdk.Event) sdk.Decision {
		return sdk.BXML(`<Response><Conference tag="from-wasm">wasm-room</Conference><Hangup/></Response>`)
	})
	note := func(ev sdk.Event) sdk.Decision {
		prev, _, err := sdk.KVGet("events")
		if err != nil {
			return sdk.Fail(err)
		}
		line := string(ev.Type) + " " + ev.ConferenceID() + " " + ev.String("tag")
		if id := ev.CallID(); id != "" {
			line += " " + id
		}
		if err := sdk.KVSet("events", append(prev, line+"\n"...)); err != nil {
			return sdk.Fail(err)
		}
		return sdk.BXML("")
	}
	for _, t := range []sdk.EventType{sdk.EventConferenceCreated, sdk.EventConferenceMemberJoin,
		sdk.EventConferenceMemberExit, sdk.EventConferenceCompleted} {
		sdk.On(t, note)
	}
}

func main() {}
