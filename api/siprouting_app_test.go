package api

import (
	"testing"
)

// The inbound direction names the voice application that answers calls
// from the trunk: it must exist in the account, is refused on the outbound
// direction, is shown by GET and can be changed by update.
func TestSIPInboundApplicationID(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	var app struct {
		Data struct {
			ApplicationID string `json:"applicationId"`
		} `json:"data"`
	}
	if c := e.call("POST", e.apps(), map[string]any{"applicationName": "trunk calls"}, &app); c != 201 || app.Data.ApplicationID == "" {
		t.Fatalf("create application: %d %+v", c, app)
	}
	appID := app.Data.ApplicationID
	attach := func(dir map[string]any, out any) int {
		return e.call("POST", "/v1/sip/attach", map[string]any{"phone_number": "+14150000077", "service": "sip", "directions": []any{dir}}, out)
	}
	var p problem
	if c := attach(map[string]any{"type": "inbound", "application_id": "no-such-app"}, &p); c != 400 || !p.mentions("directions[0].application_id") {
		t.Fatalf("unknown application: %d %+v", c, p)
	}
	if c := attach(map[string]any{"type": "outbound", "sip_endpoint": "sip:carrier.example.com", "application_id": appID}, &p); c != 400 || !p.mentions("directions[0].application_id") || !p.mentions("inbound") {
		t.Fatalf("application on outbound: %d %+v", c, p)
	}
	var att SIPEnvelope[SIPAttachResult]
	if c := attach(map[string]any{"type": "inbound", "application_id": appID, "sip_endpoint": "sip:198.51.100.7"}, &att); c != 200 || len(att.Data.Configured) != 1 {
		t.Fatalf("attach: %d %+v", c, att)
	}
	var got SIPEnvelope[SIPConfigPair]
	if e.call("GET", "/v1/sip?phone_number=%2B14150000077", nil, &got); got.Data.Inbound == nil || got.Data.Inbound.ApplicationID == nil || *got.Data.Inbound.ApplicationID != appID {
		t.Fatalf("GET: %+v", got.Data.Inbound)
	}
	if got.Data.Inbound.Registration != nil {
		t.Fatalf("registration shown without an engine: %+v", got.Data.Inbound.Registration)
	}
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": "+14150000077", "updates": map[string]any{"type": "inbound", "application_id": "gone"}}, &p); c != 400 || !p.mentions("updates.application_id") {
		t.Fatalf("update to unknown application: %d %+v", c, p)
	}
	var upd SIPEnvelope[SIPUpdateResult]
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": "+14150000077", "updates": map[string]any{"type": "inbound", "application_id": ""}}, &upd); c != 200 || upd.Data.ApplicationID != nil {
		t.Fatalf("clear application: %d %+v", c, upd.Data)
	}
}
