package e2e

import (
	"testing"
	"time"
)

// A digest-authenticated call from sipp: the webhook gathers digits, sipp
// plays G.711 audio and presses 1 and # over RFC 2833 (the captures shipped
// with sip-tester) until the application, having gathered "1#", hangs up.
func TestSippCallWithDTMF(t *testing.T) {
	s := startServer(t)
	const gatherBXML = `<Response><Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="5" firstDigitTimeout="20"/></Response>`
	hook := newHook(t, func(path string, body map[string]any) string {
		switch path {
		case "/initiate":
			return gatherBXML
		case "/gather":
			// Digits sent before the Gather started are dropped by design;
			// sipp presses again until the gather is complete.
			if body["digits"] == "1" && body["terminatingDigit"] == "#" {
				return `<Response><Hangup/></Response>`
			}
			return gatherBXML
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	uac := startSipp(t, "dtmf.xml", nil, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 60*time.Second)

	initiate, ok := hook.wait("initiate", 10*time.Second)
	if !ok {
		t.Fatalf("no initiate callback; got %v", hook.types())
	}
	callID, _ = initiate["callId"].(string)
	if initiate["from"] != "+15550001111" || initiate["direction"] != "inbound" || initiate["applicationId"] != appID {
		t.Errorf("initiate: %v", initiate)
	}
	disc, ok := hook.wait("disconnect", 20*time.Second)
	if !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}
	if disc["cause"] != "hangup" || disc["callId"] != callID {
		t.Errorf("disconnect: %v", disc)
	}
	var gathered bool
	for _, g := range hook.all("gather") {
		if g["callId"] != callID {
			t.Errorf("gather of another call: %v", g)
		}
		gathered = gathered || g["digits"] == "1" && g["terminatingDigit"] == "#"
	}
	if !gathered {
		t.Errorf("no gather callback with digits 1 and terminating #: %v", hook.all("gather"))
	}
	if trace := s.callTrace(callID); !containsAll(trace, "INVITE sip:"+appID, "SIP/2.0 200 OK", "BYE sip:") {
		t.Errorf("call log SIP trace lacks INVITE/200/BYE:\n%s", trace)
	}
}

// CANCEL before the answer: the webhook is slow to answer, sipp gives up
// after 100 Trying and gets 200 to the CANCEL and 487 to the INVITE.
func TestSippCancelBeforeAnswer(t *testing.T) {
	s := startServer(t)
	release := make(chan struct{})
	hook := newHook(t, func(path string, _ map[string]any) string {
		if path == "/initiate" {
			select { // hold the answer until sipp has cancelled (bounded)
			case <-release:
			case <-time.After(20 * time.Second):
			}
			return `<Response><Pause duration="5"/></Response>`
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	uac := startSipp(t, "cancel.xml", nil, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 40*time.Second)
	close(release)
	if initiate, ok := hook.wait("initiate", 5*time.Second); ok {
		callID, _ = initiate["callId"].(string)
	}
	disc, ok := hook.wait("disconnect", 20*time.Second)
	if !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}
	if disc["cause"] != "cancel" {
		t.Errorf("disconnect cause %v, want cancel: %v", disc["cause"], disc)
	}
}
