// Command ivr is a wasmvoice call handler: a two-option menu. Press 1 to be
// transferred to sales (the SIP URI in the application's key-value store
// under "sales_uri", else DefaultSalesURI), press 2 to leave a message.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ivr.wasm .
package main

import (
	"html"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// DefaultSalesURI is where "1" goes when the key-value store has no
// sales_uri.
const DefaultSalesURI = "sip:sales@127.0.0.1:5070"

// The callback URLs below only ask the engine for the event: with a module
// they come back here as that event. A relative URL resolves against the
// last document a webhook served, so on a call this module answered from
// the start a webhook fallback needs absolute URLs (sdk/README.md).
const menu = `<Response><Gather gatherUrl="gather" maxDigits="1" firstDigitTimeout="10">` +
	`<SpeakSentence>Press 1 for sales. Press 2 to leave a message.</SpeakSentence></Gather>` +
	`<SpeakSentence>Goodbye.</SpeakSentence><Hangup/></Response>`

func init() {
	sdk.On(sdk.EventInitiate, func(sdk.Event) sdk.Decision { return sdk.BXML(menu) })
	sdk.On(sdk.EventGather, func(ev sdk.Event) sdk.Decision {
		switch ev.Digits() {
		case "1":
			sdk.Log(sdk.LevelInfo, "caller chose sales")
			return sdk.BXML(`<Response><Transfer transferCompleteUrl="transferComplete"><SipUri>`+
				html.EscapeString(salesURI())+`</SipUri></Transfer></Response>`).SetVariable("choice", "sales")
		case "2":
			sdk.Log(sdk.LevelInfo, "caller leaves a message")
			return sdk.BXML(`<Response><SpeakSentence>Leave a message after the tone.</SpeakSentence>`+
				`<Record recordCompleteUrl="recordComplete" maxDuration="30" silenceTimeout="3"/></Response>`).SetVariable("choice", "message")
		}
		return sdk.BXML(menu)
	})
	sdk.On(sdk.EventRecordComplete, func(sdk.Event) sdk.Decision {
		return sdk.BXML(`<Response><SpeakSentence>Thank you. Goodbye.</SpeakSentence><Hangup/></Response>`)
	})
	sdk.On(sdk.EventTransferComplete, func(sdk.Event) sdk.Decision {
		return sdk.BXML(`<Response><Hangup/></Response>`)
	})
}

func salesURI() string {
	v, ok, err := sdk.KVGet("sales_uri")
	if err != nil {
		sdk.Logf(sdk.LevelWarn, "kv: %v", err)
	}
	if ok && len(v) > 0 {
		return string(v)
	}
	return DefaultSalesURI
}

func main() {}
