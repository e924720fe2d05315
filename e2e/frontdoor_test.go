package e2e

import (
	"testing"
	"time"
)

// scenario fills the templated scenarios in e2e/sipp.
type scenario struct {
	Expect      int
	ToUser      string
	MaxForwards int
	ExtraVia    string
	HoldMillis  int
	Method      string
	ToTag       bool
	Extra       string // header lines added to INVITEs (short_call.xml)
	Header      string // a header the final response must carry (auth_reject.xml)
}

func TestOptionsKeepalive(t *testing.T) {
	s := startServer(t)
	startSipp(t, "options.xml", nil, s.sip).wait(t, 30*time.Second)
}

// Every refusal of the front door, each from a real sipp UAC.
func TestFrontDoorRejections(t *testing.T) {
	s := startServer(t)
	hook := newHook(t, func(string, map[string]any) string { return "<Response><Hangup/></Response>" })
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	// allowedSourceIps takes public CIDRs only: this one excludes 127.0.0.1.
	ipOnly, _ := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate")},
		map[string]any{"inboundSipCallsEnabled": true, "allowedSourceIps": []string{"203.0.113.0/24"}})
	// The node runs in region US (the default).
	euOnly, _ := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true, "allowedRegions": []string{"EU"}})
	disabled, _ := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate")}, nil)

	cases := []struct {
		name, file string
		data       scenario
		args       []string
	}{
		{"unknown_app_401", "reject.xml", scenario{Expect: 401, ToUser: "nosuchapp", MaxForwards: 70}, []string{"-s", "nosuchapp"}},
		{"inbound_disabled_401", "reject.xml", scenario{Expect: 401, ToUser: disabled, MaxForwards: 70}, []string{"-s", disabled}},
		{"region_401", "reject.xml", scenario{Expect: 401, ToUser: euOnly, MaxForwards: 70}, []string{"-s", euOnly}},
		{"source_ip_401", "reject.xml", scenario{Expect: 401, ToUser: ipOnly, MaxForwards: 70}, []string{"-s", ipOnly}},
		{"wrong_password_401", "auth_reject.xml", scenario{Expect: 401, ToUser: appID}, []string{"-s", appID, "-au", appID, "-ap", pw + "x"}},
		{"user_mismatch_403", "auth_reject.xml", scenario{Expect: 403, ToUser: "someoneelse"}, []string{"-s", appID, "-au", appID, "-ap", pw}},
		{"max_forwards_0_483", "reject.xml", scenario{Expect: 483, ToUser: appID, MaxForwards: 0}, []string{"-s", appID}},
		{"loop_482", "reject.xml", scenario{Expect: 482, ToUser: appID, MaxForwards: 70,
			ExtraVia: "Via: SIP/2.0/UDP " + s.sip + ";branch=z9hG4bK-looped"}, []string{"-s", appID}},
		{"register_405", "register.xml", scenario{}, []string{"-s", appID}},
		{"bye_without_dialog_481", "request.xml", scenario{Expect: 481, Method: "BYE", ToTag: true}, []string{"-s", appID}},
		{"unknown_method_501", "request.xml", scenario{Expect: 501, Method: "FROBNICATE"}, []string{"-s", appID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			startSipp(t, c.file, c.data, s.sip, c.args...).wait(t, 30*time.Second)
		})
	}
	if types := hook.types(); len(types) != 0 {
		t.Errorf("refused calls reached the webhook: %v", types)
	}
}
