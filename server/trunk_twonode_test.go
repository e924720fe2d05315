package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sipRejections reads wasmvoice_sip_rejections_total for one reason from
// the default registry (shared by every node of the test process).
func sipRejections(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "wasmvoice_sip_rejections_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Two nodes as carrier and customer: node A places a call to a number whose
// outbound trunk is node B; node B has the same number attached inbound in
// register mode, so its front door challenges with 407 and verifies A's
// digest answer (sip_username / sip_password = B's register user and
// derived password) cryptographically. A's outbound mapping adds a header
// that B's inbound mapping turns into a variable for B's webhook.
func TestTrunkTwoNodesDigestAndMappings(t *testing.T) {
	const number = "+14155550105"
	a, b := startNode(t), startNode(t)

	hb := newVarsHook(t, `<Response><Pause duration="1"/><Hangup/></Response>`)
	appB, _ := b.app(t, map[string]any{"callInitiatedCallbackUrl": hb.srv.URL + "/initiate", "callStatusCallbackUrl": hb.srv.URL + "/status"})
	data := b.attachSIP(t, map[string]any{"phone_number": number, "directions": []any{map[string]any{
		"type": "inbound", "application_id": appB, "auth_mode": "register",
		"register_auth": map[string]any{"username": "carrier-a", "password": "hunter2hunter2"},
		"headers":       []any{map[string]any{"type": "custom", "key": "X-Tenant", "value": "tenant"}},
	}}})
	pbxPassword := data["register_password_for_pbx"].(string)

	ha := newVarsHook(t, "")
	appA, _ := a.app(t, map[string]any{})
	a.attachSIP(t, map[string]any{"phone_number": number, "directions": []any{map[string]any{
		"type": "outbound", "sip_endpoint": "sip:" + b.sip,
		"options": map[string]any{"sip_username": "carrier-a", "sip_password": pbxPassword},
		"headers": []any{map[string]any{"passthrough": true, "key": "X-Tenant", "value": "acme"}},
	}}})
	challenged := sipRejections(t, "no_credentials")
	var created struct {
		CallID string `json:"callId"`
	}
	if code := a.call(t, "POST", "/api/v2/accounts/"+a.creds.AccountID+"/calls", map[string]any{
		"from": "+15550001111", "to": number, "applicationId": appA,
		"answerUrl": ha.srv.URL + "/answer", "disconnectUrl": ha.srv.URL + "/disconnect",
	}, &created); code != 201 {
		t.Fatalf("createCall: %d", code)
	}
	initiate := hb.wait("initiate", 20*time.Second)
	if initiate.ev.Body["to"] != number || initiate.ev.Body["from"] != "+15550001111" || initiate.vars.Get("tenant") != "acme" {
		t.Errorf("B's initiate: %v, variables %q", initiate.ev.Body, initiate.raw)
	}
	answer := ha.wait("answer", 20*time.Second)
	disc := ha.wait("disconnect", 20*time.Second)
	if answer.ev.Body["callId"] != created.CallID || disc.ev.Body["cause"] != "hangup" {
		t.Errorf("A's callbacks: answer %v, disconnect %v", answer.ev.Body, disc.ev.Body)
	}
	for _, e := range []varsEvent{initiate, answer, disc} {
		checkSchema(t, e.ev)
	}
	if sipRejections(t, "no_credentials") <= challenged {
		t.Error("B's front door never challenged A's INVITE")
	}
	rec, _ := b.endedCall(t, appB)
	if rec.To != number || rec.Variables["tenant"] != "acme" {
		t.Errorf("B's call record: %+v", rec)
	}
}
