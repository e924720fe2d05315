// Command referpolicy is a test guest for the sip.refer hook: the
// application's key-value entry "target" is where every REFER to
// sip:vip@... is sent instead (with an X-Refer-Checked header on the
// INVITE to it); a REFER to any other user is refused with 488.
package main

import (
	"strings"

	"github.com/wasmvoice/wasmvoice/sdk"
)

func init() {
	sdk.On(sdk.EventSIPRefer, func(ev sdk.Event) sdk.Decision {
		if !strings.HasPrefix(ev.SIP.RequestURI, "sip:vip@") {
			return sdk.Reject(488, "Not Here")
		}
		target, ok, err := sdk.KVGet("target")
		if err != nil || !ok {
			return sdk.Reject(503, "No Target")
		}
		return sdk.Continue().SetHeader("Refer-To", "<"+string(target)+">").
			SetHeader("X-Refer-Checked", ev.Variable("transfereeCallId")).
			SetVariable("referTicket", ev.SIP.XHeader("X-Ticket"))
	})
}

func main() {}
