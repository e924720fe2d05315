package server

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// attachSIP attaches numbers through POST /v1/sip/attach and fails the test
// unless every number was configured.
func (n *node) attachSIP(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	body["service"] = "sip"
	var out map[string]any
	if code := n.call(t, "POST", "/v1/sip/attach", body, &out); code != 200 && code != 201 {
		t.Fatalf("attach: %d %v", code, out)
	}
	data, _ := out["data"].(map[string]any)
	if failed, _ := data["failed"].([]any); len(failed) > 0 {
		t.Fatalf("attach failed for: %v", failed)
	}
	return data
}

// attachAcmeTrunk attaches +14155550100 with an outbound endpoint at the
// provider scenario on 127.0.0.1:uasPort: digest credentials acme /
// trunk-pass-42 and the mapped header X-Tenant: acme-tenant.
func attachAcmeTrunk(t *testing.T, n *node, uasPort int) {
	t.Helper()
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550100",
		"directions": []any{map[string]any{
			"type": "outbound", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", uasPort),
			"options": map[string]any{"transport": "udp", "sip_username": "acme", "sip_password": "trunk-pass-42"},
			"headers": []any{map[string]any{"passthrough": true, "key": "X-Tenant", "value": "acme-tenant"}},
		}},
	})
}

// A createCall to an E.164 number goes through the number's outbound SIP
// configuration: the sipp provider challenges with 401 (and verifies the
// digest against the configured sip_username/sip_password) or 407 (and checks
// the Proxy-Authorization answer), and checks the header the outbound
// mapping adds.
func TestTrunkOutboundCreateCallDigestHeaders(t *testing.T) {
	for _, sc := range []string{"provider_auth401_uas.xml", "provider_auth407_uas.xml"} {
		t.Run(sc, func(t *testing.T) { testTrunkOutboundCreateCall(t, sc) })
	}
}

func testTrunkOutboundCreateCall(t *testing.T, scenario string) {
	n := startNode(t)
	uasPort := testenv.FreeUDPPort(t)
	attachAcmeTrunk(t, n, uasPort)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/answer" {
			return `<Response><Pause duration="20"/></Response>`
		}
		return ""
	})
	appID, _ := n.app(t, map[string]any{})
	uas := startSipp(t, scenario, "-p", strconv.Itoa(uasPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)), "-rtp_echo")

	var created struct {
		CallID string `json:"callId"`
	}
	if code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550001111", "to": "+14155550100", "applicationId": appID,
		"answerUrl": h.url("/answer"), "disconnectUrl": h.url("/disconnect"),
	}, &created); code != 201 {
		t.Fatalf("createCall: %d", code)
	}
	answer := h.wait("answer", 20*time.Second)
	if answer.Body["callId"] != created.CallID || answer.Body["to"] != "+14155550100" {
		t.Errorf("answer: %v", answer.Body)
	}
	uas.wait(t, 30*time.Second)
	disc := h.wait("disconnect", 10*time.Second)
	if disc.Body["cause"] != "hangup" {
		t.Errorf("disconnect: %v", disc.Body)
	}
	for _, ev := range []event{answer, disc} {
		checkSchema(t, ev)
	}
}

// Without an outbound route, createCall to a number is a 400 naming "to";
// the from number's route is used when the callee's number has none.
func TestTrunkOutboundNoRoute(t *testing.T) {
	n := startNode(t)
	appID, _ := n.app(t, map[string]any{})
	var prob map[string]any
	code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550001111", "to": "+14155550199", "applicationId": appID, "answerUrl": "http://127.0.0.1:1/answer",
	}, &prob)
	if code != 400 {
		t.Fatalf("createCall without route: %d %v", code, prob)
	}
	n.attachSIP(t, map[string]any{
		"phone_number": "+15550001111",
		"directions":   []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:127.0.0.1:9"}},
	})
	// Only the from number's configuration names 127.0.0.1:9.
	r, err := n.srv.trunks.Route(t.Context(), calls.RouteRequest{AccountID: n.creds.AccountID, Number: "+14155550199", From: "+15550001111"})
	if err != nil || r.URI != "sip:+14155550199@127.0.0.1:9" {
		t.Fatalf("route via from: %+v %v", r, err)
	}
}

// <Transfer><PhoneNumber> rings the number through its outbound SIP route:
// the sipp provider checks the digest and the mapped header, answers, and
// hangs up, which completes the transfer.
func TestTrunkTransferPhoneNumber(t *testing.T) {
	n := startNode(t)
	uasPort := testenv.FreeUDPPort(t)
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550100",
		"directions": []any{map[string]any{
			"type": "outbound", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", uasPort),
			"options": map[string]any{"sip_username": "acme", "sip_password": "trunk-pass-42"},
			"headers": []any{map[string]any{"passthrough": true, "key": "X-Tenant", "value": "acme-tenant"}},
		}},
	})
	alice := newPhone(t, 'A', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Transfer transferCallerId="+15550001111" transferCompleteUrl="/complete"><PhoneNumber transferAnswerUrl="/tanswer">+14155550100</PhoneNumber></Transfer></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	uas := startSipp(t, "provider_auth401_uas.xml", "-p", strconv.Itoa(uasPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)), "-rtp_echo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	answer := h.wait("transferAnswer", 20*time.Second)
	if answer.Body["transferTo"] != "+14155550100" {
		t.Errorf("transferAnswer: %v", answer.Body)
	}
	uas.wait(t, 30*time.Second)
	complete := h.wait("transferComplete", 10*time.Second)
	if complete.Body["cause"] != "hangup" {
		t.Errorf("transferComplete: %v", complete.Body)
	}
	for _, ev := range []event{answer, complete} {
		checkSchema(t, ev)
	}
	// The transfer's leg is in the number's SIP call log (saved right after
	// its transferDisconnect callback).
	var list api.SIPEnvelope[api.SIPCallList]
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n.call(t, "GET", "/v1/sip/calls?phone_number=%2B14155550100", nil, &list); len(list.Data.Calls) > 0 {
			break
		}
	}
	if cs := list.Data.Calls; len(cs) != 1 || cs[0].CallID != answer.Body["callId"] || cs[0].Direction != "outbound" ||
		cs[0].SIPResponseCode != 200 || cs[0].Status != "completed" || cs[0].TrunkID != nil || cs[0].DurationSeconds <= 0 {
		t.Errorf("SIP call log of the number: %+v", cs)
	}
}
