package e2e

import (
	"strconv"
	"testing"
	"time"
)

// A digest-authenticated call from sipp: the webhook gathers digits, sipp
// presses 1 and # over RFC 2833 and plays G.711 audio, then hangs up.
func TestSippCallWithDTMF(t *testing.T) {
	s := startServer(t)
	hook := newHook(t, func(path string, _ map[string]any) string {
		switch path {
		case "/initiate":
			return `<Response><Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="5" firstDigitTimeout="20"/></Response>`
		case "/gather":
			return `<Response><Pause duration="30"/></Response>`
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	uac := startSipp(t, "call.xml", scenario{HoldMillis: 1000}, s.sip,
		"-s", appID, "-au", appID, "-ap", pw, "-mp", strconv.Itoa(freeEvenPort(t)))
	uac.wait(t, 60*time.Second)

	initiate, ok := hook.wait("initiate", 5*time.Second)
	if !ok {
		t.Fatalf("no initiate callback; got %v", hook.types())
	}
	callID, _ = initiate["callId"].(string)
	if initiate["from"] != "+15550001111" || initiate["direction"] != "inbound" || initiate["applicationId"] != appID {
		t.Errorf("initiate: %v", initiate)
	}
	gather, ok := hook.wait("gather", 10*time.Second)
	if !ok {
		t.Fatalf("no gather callback; got %v", hook.types())
	}
	if gather["digits"] != "1" || gather["terminatingDigit"] != "#" || gather["callId"] != callID {
		t.Errorf("gather: %v", gather)
	}
	disc, ok := hook.wait("disconnect", 10*time.Second)
	if !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}
	if disc["cause"] != "hangup" || disc["callId"] != callID {
		t.Errorf("disconnect: %v", disc)
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

	uac := startSipp(t, "cancel.xml", nil, s.sip, "-s", appID, "-au", appID, "-ap", pw, "-mp", strconv.Itoa(freeEvenPort(t)))
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
