package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// An inbound call from a real SIP client: the webhook answers SpeakSentence
// inside a Gather, the caller presses 1 then #, the gather callback's BXML
// transfers to a second SIP endpoint, which answers, echoes the caller's
// audio and hangs up; transferComplete's BXML hangs up the caller.
func TestInboundGatherTransferWithSipp(t *testing.T) {
	testenv.LookTool(t, "sipp")
	testenv.LookTool(t, "espeak-ng")
	n := startNode(t)
	uasPort := testenv.FreeUDPPort(t)
	target := fmt.Sprintf("sip:sales@127.0.0.1:%d", uasPort)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="5" firstDigitTimeout="15">` +
				`<SpeakSentence>Press one for sales.</SpeakSentence></Gather></Response>`
		case "/gather":
			return `<Response><Transfer transferCompleteUrl="/transferComplete" transferCallerId="+15550009999">` +
				`<SipUri transferAnswerUrl="/transferAnswer" transferDisconnectUrl="/transferDisconnect" tag="sales-leg">` + target + `</SipUri>` +
				`</Transfer></Response>`
		case "/transferComplete":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	appID, pw := n.app(t, map[string]any{
		"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status"),
		"inboundSipCallsEnabled": true, "passwordAuthEnabled": true,
	})
	uas := startSipp(t, "uas_answer_echo_bye.xml", "-p", strconv.Itoa(uasPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)), "-rtp_echo")
	uac := startSipp(t, "uac_dtmf_transfer.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	uac.wait(t, 60*time.Second)
	uas.wait(t, 30*time.Second)

	initiate := h.wait("initiate", 5*time.Second)
	callID := initiate.Body["callId"].(string)
	if initiate.Body["from"] != "+15550001111" || initiate.Body["direction"] != "inbound" ||
		!strings.HasPrefix(initiate.Body["to"].(string), "sip:"+appID+"@") || initiate.Body["applicationId"] != appID ||
		initiate.Body["uui"] != "3132333435;encoding=hex" {
		t.Errorf("initiate fields: %v", initiate.Body)
	}
	gather := h.wait("gather", 5*time.Second)
	if gather.Body["digits"] != "1" || gather.Body["terminatingDigit"] != "#" || gather.Body["callId"] != callID {
		t.Errorf("gather: %v", gather.Body)
	}
	answer := h.wait("transferAnswer", 5*time.Second)
	// The SipUri's tag is the B-leg's: on its transferAnswer and
	// transferDisconnect, not on the A-leg's transferComplete.
	if answer.Body["callId"] == callID || answer.Body["transferTo"] != target || answer.Body["transferCallerId"] != "+15550009999" || answer.Body["tag"] != "sales-leg" {
		t.Errorf("transferAnswer: %v", answer.Body)
	}
	complete := h.wait("transferComplete", 5*time.Second)
	if complete.Body["callId"] != callID || complete.Body["cause"] != "hangup" || complete.Body["transferTo"] != target || complete.Body["tag"] != nil {
		t.Errorf("transferComplete: %v", complete.Body)
	}
	tdisc := h.wait("transferDisconnect", 5*time.Second)
	if tdisc.Body["parentCallId"] != callID || tdisc.Body["cause"] != "hangup" || tdisc.Body["tag"] != "sales-leg" {
		t.Errorf("transferDisconnect: %v", tdisc.Body)
	}
	disc := h.wait("disconnect", 5*time.Second)
	if disc.Body["callId"] != callID || disc.Body["cause"] != "hangup" || disc.Body["endTime"] == nil || disc.Path != "/status" {
		t.Errorf("disconnect: %s %v", disc.Path, disc.Body)
	}
	for _, ev := range []event{initiate, gather, answer, complete, tdisc, disc} {
		checkSchema(t, ev)
	}

	// The call record, its SIP trace and log were saved when it ended.
	var state CallStateJSON
	if code := n.call(t, "GET", "/api/v2/accounts/"+n.creds.AccountID+"/calls/"+callID, nil, &state); code != 200 {
		t.Fatalf("getCallState: %d", code)
	}
	if state.State != "disconnected" || state.DisconnectCause != "hangup" || state.AnswerTime == "" {
		t.Errorf("call state: %+v", state)
	}
	var log struct {
		Entries  []map[string]any `json:"entries"`
		SIPTrace []struct {
			Direction string `json:"direction"`
			Message   string `json:"message"`
		} `json:"sipTrace"`
	}
	if code := n.call(t, "GET", "/api/v2/accounts/"+n.creds.AccountID+"/calls/"+callID+"/log", nil, &log); code != 200 {
		t.Fatalf("call log: %d", code)
	}
	if len(log.SIPTrace) < 5 || log.SIPTrace[0].Direction != "in" || !strings.HasPrefix(log.SIPTrace[0].Message, "INVITE") || len(log.Entries) == 0 {
		t.Errorf("call log: %d trace entries, %d log lines", len(log.SIPTrace), len(log.Entries))
	}
}

// CallStateJSON is the getCallState body as a client reads it.
type CallStateJSON struct {
	CallID          string `json:"callId"`
	State           string `json:"state"`
	Direction       string `json:"direction"`
	AnswerTime      string `json:"answerTime"`
	DisconnectCause string `json:"disconnectCause"`
	ErrorMessage    string `json:"errorMessage"`
}
