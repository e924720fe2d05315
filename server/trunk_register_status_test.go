package server

import (
	"net/url"
	"testing"
	"time"
)

// sipRegistration reads the registration GET /v1/sip shows for a number's
// inbound configuration (nil when none is shown).
func (n *node) sipRegistration(t *testing.T, number string) map[string]any {
	t.Helper()
	var out struct {
		Data struct {
			Inbound map[string]any `json:"inbound"`
		} `json:"data"`
	}
	if code := n.call(t, "GET", "/v1/sip?phone_number="+url.QueryEscape(number), nil, &out); code != 200 {
		t.Fatalf("GET /v1/sip: %d", code)
	}
	reg, _ := out.Data.Inbound["registration"].(map[string]any)
	return reg
}

// A PBX that refuses the node's REGISTER shows up in GET /v1/sip as a
// failing registration with the reason, so the customer can see it.
func TestTrunkRegistrationFailureVisible(t *testing.T) {
	n := startNode(t)
	// The node's own front door answers REGISTER with 405: a refusing PBX.
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550124",
		"directions": []any{map[string]any{
			"type": "inbound", "auth_mode": "register", "sip_endpoint": "sip:" + n.sip,
			"register_auth": map[string]any{"username": "pbx-acme", "password": "hunter2hunter2"},
		}},
	})
	n.srv.regs.Load().Sync(t.Context())
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		reg := n.sipRegistration(t, "+14155550124")
		if reg != nil && reg["state"] == "failing" {
			if e, _ := reg["error"].(string); e == "" || reg["last_attempt"] == nil {
				t.Fatalf("failing registration without detail: %v", reg)
			}
			return
		}
		if reg != nil && reg["state"] != "pending" {
			t.Fatalf("registration: %v", reg)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failing registration shown: %v", reg)
		}
	}
}
