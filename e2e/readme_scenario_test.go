package e2e

import (
	"testing"
	"time"
)

// The README's sipp scenario (examples/sipp/uac-digest.xml, with -rtp_echo
// as the README runs it) against a server started with the default flags,
// once for each side hanging up: the call connects through the default
// digest challenge, the greeting reaches sipp (which echoes it into the
// call's recording), the Gather collects 1 and #, and the BYE comes from
// the application (<Hangup/> after the gather) or from sipp (the
// application keeps the call up longer than the scenario waits for it).
func TestSippReadmeScenario(t *testing.T) {
	s := startDefaultServer(t)
	const greeting = `<Response><StartRecording multiChannel="true"/>` +
		`<Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="10" firstDigitTimeout="10">` +
		`<SpeakSentence>Hello from wasmvoice. Enter some digits, then press the pound key.</SpeakSentence>` +
		`</Gather></Response>`
	for _, tc := range []struct {
		name, byeFrom, afterGather string
	}{
		{"server hangs up", "server", `<Response><SpeakSentence>You entered 1. Goodbye.</SpeakSentence><Hangup/></Response>`},
		// The scenario waits 6 s for the application's BYE, then sends its own.
		{"caller hangs up", "caller", `<Response><SpeakSentence>You entered 1.</SpeakSentence><Pause duration="30"/></Response>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // both calls at once: the caller's hangup waits out its 6 s
			s := *s      // this subtest's view of the shared server: failures are its own
			s.t = t
			hook := newHook(t, func(path string, _ map[string]any) string {
				switch path {
				case "/initiate":
					return greeting
				case "/gather":
					return tc.afterGather
				}
				return ""
			})
			appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
				map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
			var callID string
			s.traceOnFailure(&callID)

			startSippFile(t, "../examples/sipp/uac-digest.xml", nil, s.sip,
				"-s", appID, "-au", appID, "-ap", pw, "-rtp_echo").wait(t, 60*time.Second)
			initiate, ok := hook.wait("initiate", 5*time.Second)
			if !ok {
				t.Fatalf("no initiate callback; got %v", hook.types())
			}
			callID, _ = initiate["callId"].(string)
			gathers := hook.all("gather")
			if len(gathers) != 1 || gathers[0]["digits"] != "1" || gathers[0]["terminatingDigit"] != "#" {
				t.Errorf("gather callbacks %v, want one with digits 1 and terminatingDigit #", gathers)
			}
			s.endedCall(callID).check(t, tc.byeFrom)
		})
	}
}
