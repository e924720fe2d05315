package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// GET /v1/sip/calls lists the calls of a number and of a trunk with what the
// SIP side said: an outbound call through the number's trunk that the sipp
// callee answers (200, a duration), one to a busy callee on another trunk
// (486, busy), and an inbound call from the trunk to the attached number
// (what we answered: 200).
func TestSIPCallLogs(t *testing.T) {
	const number, busyNumber = "+14155550100", "+14155550101"
	n := startNode(t)
	trunkPort, busyPort := testenv.FreeUDPPort(t), testenv.FreeUDPPort(t)
	trunk := func(name string, port int) string {
		var tr struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if code := n.call(t, "POST", "/v1/sip/trunks", map[string]any{"name": name, "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", port)}, &tr); code != 201 {
			t.Fatalf("create trunk %s: %d", name, code)
		}
		return tr.Data.ID
	}
	carrier, busyCarrier := trunk("carrier", trunkPort), trunk("busy", busyPort)
	in := newVarsHook(t, `<Response><Pause duration="0.5"/><Hangup/></Response>`)
	appID, _ := n.app(t, map[string]any{"callInitiatedCallbackUrl": in.srv.URL + "/initiate", "callStatusCallbackUrl": in.srv.URL + "/status"})
	n.attachSIP(t, map[string]any{"phone_number": number, "trunk_id": carrier, "directions": []any{
		map[string]any{"type": "outbound"}, map[string]any{"type": "inbound", "application_id": appID},
	}})
	n.attachSIP(t, map[string]any{"phone_number": busyNumber, "trunk_id": busyCarrier, "directions": []any{map[string]any{"type": "outbound"}}})

	dial := func(to string) string {
		t.Helper()
		h := newHook(t, func(ev event) string { return `<Response><Pause duration="20"/></Response>` })
		var created struct {
			CallID string `json:"callId"`
		}
		if code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
			"from": "+15550001111", "to": to, "applicationId": appID, "answerUrl": h.url("/answer"), "disconnectUrl": h.url("/disconnect"),
		}, &created); code != 201 {
			t.Fatalf("createCall to %s: %d", to, code)
		}
		h.wait("disconnect", 30*time.Second) // sent once the record is saved
		return created.CallID
	}
	uas := startSipp(t, "uas_answer_echo_bye.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)), "-rtp_echo")
	answered := dial(number)
	uas.wait(t, 30*time.Second)
	busy := startSipp(t, "uas_busy.xml", "-p", strconv.Itoa(busyPort))
	refused := dial(busyNumber)
	busy.wait(t, 30*time.Second)
	// The trunk calls the number from its own address.
	uac := startSipp(t, "trunk_uac_ip.xml", n.sip, "-s", number, "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	uac.wait(t, 40*time.Second)
	inbound, _ := in.wait("disconnect", 10*time.Second).ev.Body["callId"].(string)

	list := func(q string) api.SIPCallList {
		t.Helper()
		var out api.SIPEnvelope[api.SIPCallList]
		if code := n.call(t, "GET", "/v1/sip/calls?"+q, nil, &out); code != 200 {
			t.Fatalf("GET /v1/sip/calls?%s: %d", q, code)
		}
		return out.Data
	}
	byID := func(l api.SIPCallList) map[string]api.SIPCallView {
		m := map[string]api.SIPCallView{}
		for _, c := range l.Calls {
			m[c.CallID] = c
		}
		return m
	}
	byNumber := byID(list("phone_number=" + url.QueryEscape(number)))
	if len(byNumber) != 2 {
		t.Fatalf("calls of %s: %v", number, byNumber)
	}
	out, ok := byNumber[answered]
	if !ok || out.Direction != "outbound" || out.Status != "completed" || out.SIPResponseCode != 200 || out.DurationSeconds <= 0 ||
		out.TrunkID == nil || *out.TrunkID != carrier || out.PhoneNumber != number || out.To != number || out.AnsweredAt == nil || out.EndedAt == nil ||
		out.SIPCallID == "" || out.LogURL != "/api/v2/accounts/"+n.creds.AccountID+"/calls/"+answered+"/log" {
		t.Errorf("answered outbound call: %+v", out)
	}
	inc, ok := byNumber[inbound]
	if !ok || inc.Direction != "inbound" || inc.Status != "completed" || inc.SIPResponseCode != 200 || inc.SIPResponseReason != "OK" ||
		inc.TrunkID == nil || *inc.TrunkID != carrier || inc.From != "+15550002222" || inc.DurationSeconds <= 0 {
		t.Errorf("inbound call: %+v", inc)
	}
	byTrunk := byID(list("trunk_id=" + busyCarrier))
	if b, ok := byTrunk[refused]; len(byTrunk) != 1 || !ok || b.Status != "busy" || b.SIPResponseCode != 486 || b.SIPResponseReason != "Busy Here" ||
		b.DurationSeconds != 0 || b.AnsweredAt != nil || b.PhoneNumber != busyNumber {
		t.Errorf("busy call: %+v", byTrunk)
	}
	if l := byID(list("trunk_id=" + carrier + "&direction=inbound")); len(l) != 1 || l[inbound].CallID != inbound {
		t.Errorf("inbound calls of the carrier: %v", l)
	}
	// The log link works: the call's log has its SIP trace.
	var log struct {
		SIPTrace []map[string]any `json:"sipTrace"`
	}
	if code := n.call(t, "GET", out.LogURL, nil, &log); code != 200 || len(log.SIPTrace) == 0 {
		t.Errorf("GET %s: %d, %d SIP messages", out.LogURL, code, len(log.SIPTrace))
	}
	// limit 1 and the cursor walk all three calls once, newest first.
	var seen []string
	q := "limit=1"
	for range 5 {
		p := list(q)
		for _, c := range p.Calls {
			seen = append(seen, c.CallID)
		}
		if p.NextCursor == nil {
			break
		}
		q = "limit=1&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if want := []string{inbound, refused, answered}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("paged: %v, want %v", seen, want)
	}
	for q, field := range map[string]string{"limit=500": "limit", "direction=up": "direction", "cursor=nope": "cursor", "phone_number=%21": "phone_number"} {
		req, _ := http.NewRequest("GET", n.api+"/v1/sip/calls?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+n.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Errors []struct {
				Location string `json:"location"`
			} `json:"errors"`
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != 400 || err != nil || len(p.Errors) == 0 || p.Errors[0].Location != "query."+field {
			t.Errorf("%s: %d %+v %v, want 400 naming %s", q, resp.StatusCode, p, err, field)
		}
	}
}
