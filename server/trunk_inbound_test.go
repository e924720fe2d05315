package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// varsHook is a webhook backend that also records the call variables
// header of each callback.
type varsHook struct {
	t      *testing.T
	srv    *httptest.Server
	answer string
	mu     sync.Mutex
	events []varsEvent
	notify chan struct{}
}

type varsEvent struct {
	ev   event
	vars url.Values
	raw  string // the header as sent
}

func newVarsHook(t *testing.T, answer string) *varsHook {
	h := &varsHook{t: t, answer: answer, notify: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		ev := event{Method: r.Method, Path: r.URL.Path, Raw: raw}
		if err := json.Unmarshal(raw, &ev.Body); err != nil {
			t.Errorf("callback body is not JSON: %v: %s", err, raw)
		}
		ev.Type, _ = ev.Body["eventType"].(string)
		hv := r.Header.Get(callflow.VariablesHeader)
		vars, err := url.ParseQuery(hv)
		if err != nil {
			t.Errorf("%s header %q: %v", callflow.VariablesHeader, hv, err)
		}
		h.mu.Lock()
		h.events = append(h.events, varsEvent{ev: ev, vars: vars, raw: hv})
		h.mu.Unlock()
		select {
		case h.notify <- struct{}{}:
		default:
		}
		w.Header().Set("Content-Type", "application/xml")
		if ev.Type == "initiate" {
			io.WriteString(w, h.answer)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *varsHook) wait(eventType string, timeout time.Duration) varsEvent {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		for _, e := range h.events {
			if e.ev.Type == eventType {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline:
			h.t.Fatalf("no %s callback within %s", eventType, timeout)
		}
	}
}

// A trunk calls an attached number: the INVITE to sip:+14155550100@<node>
// is authorized by the trunk's source address (ip) or by digest with the
// register credentials (register), or by the address of the trunk the
// number is bound to (trunk), goes to the number's application, and
// the inbound header mappings (custom on an X-* header, passthrough, uui)
// reach every webhook callback of the call as variables, while the
// callback bodies stay valid against the Voice API schemas.
func TestTrunkInboundCallMappedVariables(t *testing.T) {
	for _, mode := range []string{"ip", "register", "trunk"} {
		t.Run(mode, func(t *testing.T) { testTrunkInbound(t, mode) })
	}
}

func testTrunkInbound(t *testing.T, mode string) {
	const number = "+14155550100"
	n := startNode(t)
	h := newVarsHook(t, `<Response><Pause duration="0.5"/><Hangup/></Response>`)
	appID, _ := n.app(t, map[string]any{"callInitiatedCallbackUrl": h.srv.URL + "/initiate", "callStatusCallbackUrl": h.srv.URL + "/status"})
	uacPort := testenv.FreeUDPPort(t)
	inbound := map[string]any{
		"type": "inbound", "application_id": appID,
		"headers": map[string]any{"direction": "inbound", "headers": []any{
			map[string]any{"type": "custom", "key": "X-Customer-Id", "value": "customer_id"},
			map[string]any{"passthrough": true, "key": "source", "value": "carrier-a"},
			map[string]any{"type": "uui", "target": "crm_id", "purpose": "bland", "encoding": "hex", "content": "id"},
		}},
	}
	scenario := "trunk_uac_ip.xml"
	attach := map[string]any{"phone_number": number, "directions": []any{inbound}}
	switch mode {
	case "ip":
		inbound["sip_endpoint"] = fmt.Sprintf("sip:127.0.0.1:%d", uacPort)
	case "register":
		scenario = "trunk_uac_register.xml"
		inbound["auth_mode"] = "register"
		inbound["register_auth"] = map[string]any{"username": "pbx-acme", "password": "hunter2hunter2"}
	case "trunk":
		var tr struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if code := n.call(t, "POST", "/v1/sip/trunks", map[string]any{"name": "carrier", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", uacPort)}, &tr); code != 201 {
			t.Fatalf("create trunk: %d", code)
		}
		attach["trunk_id"] = tr.Data.ID
	}
	data := n.attachSIP(t, attach)
	args := []string{n.sip, "-s", number, "-p", strconv.Itoa(uacPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2))}
	if mode == "register" {
		args = append(args, "-au", "pbx-acme", "-ap", data["register_password_for_pbx"].(string))
	}
	uac := startSipp(t, scenario, args...)
	uac.wait(t, 40*time.Second)

	initiate := h.wait("initiate", 10*time.Second)
	disc := h.wait("disconnect", 10*time.Second)
	b := initiate.ev.Body
	if b["to"] != number || b["from"] != "+15550002222" || b["applicationId"] != appID || b["direction"] != "inbound" {
		t.Errorf("initiate: %v", b)
	}
	for _, e := range []varsEvent{initiate, disc} {
		checkSchema(t, e.ev)
		want := url.Values{"customer_id": {"cust-77"}, "source": {"carrier-a"}, "crm_id": {"42"}}
		if e.vars.Encode() != want.Encode() {
			t.Errorf("%s callback variables: %q, want %q", e.ev.Type, e.raw, want.Encode())
		}
	}
	if disc.ev.Body["callId"] != b["callId"] || disc.ev.Body["cause"] != "hangup" {
		t.Errorf("disconnect: %v", disc.ev.Body)
	}
	// The variables are kept with the call record too.
	if rec, _ := n.endedCall(t, appID); rec.Variables["crm_id"] != "42" || rec.Variables["customer_id"] != "cust-77" || rec.To != number {
		t.Errorf("call record: to %q, variables %v", rec.To, rec.Variables)
	}
}

// A trunk whose address is not the number's configured endpoint is refused
// (407, the answer a stranger gets for any number) and no call reaches the
// application.
func TestTrunkInboundWrongSource(t *testing.T) {
	n := startNode(t)
	h := newVarsHook(t, `<Response><Hangup/></Response>`)
	appID, _ := n.app(t, map[string]any{"callInitiatedCallbackUrl": h.srv.URL + "/initiate"})
	n.attachSIP(t, map[string]any{"phone_number": "+14155550101", "directions": []any{map[string]any{
		"type": "inbound", "application_id": appID, "sip_endpoint": "sip:192.0.2.10",
	}}})
	uac := startSipp(t, "trunk_uac_refused.xml", n.sip, "-s", "+14155550101", "-p", strconv.Itoa(testenv.FreeUDPPort(t)))
	uac.wait(t, 30*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) != 0 {
		t.Fatalf("refused call reached the application: %+v", h.events)
	}
}

// Variables mapped from one trunk's INVITE feed the outbound mappings of
// the next leg: a call from a trunk (UUI in hex, an X-* header) is
// transferred to a number behind another provider, which challenges with
// 407 and receives the custom header and the User-to-User header
// re-encoded as ascii.
func TestTrunkInboundToOutboundMappings(t *testing.T) {
	n := startNode(t)
	uacPort, providerPort := testenv.FreeUDPPort(t), testenv.FreeUDPPort(t)
	h := newVarsHook(t, `<Response><Transfer transferCallerId="+14155550100"><PhoneNumber>+14155550199</PhoneNumber></Transfer></Response>`)
	appID, _ := n.app(t, map[string]any{"callInitiatedCallbackUrl": h.srv.URL + "/initiate", "callStatusCallbackUrl": h.srv.URL + "/status"})
	n.attachSIP(t, map[string]any{"phone_number": "+14155550100", "directions": []any{map[string]any{
		"type": "inbound", "application_id": appID, "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", uacPort),
		"headers": []any{
			map[string]any{"type": "custom", "key": "X-Customer-Id", "value": "customer_id"},
			map[string]any{"type": "uui", "target": "crm_id", "purpose": "bland", "encoding": "hex", "content": "id"},
		},
	}}})
	n.attachSIP(t, map[string]any{"phone_number": "+14155550199", "directions": []any{map[string]any{
		"type": "outbound", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", providerPort),
		"options": map[string]any{"sip_username": "acme", "sip_password": "trunk-pass-42"},
		"headers": []any{
			map[string]any{"type": "custom", "key": "X-Customer-Ref", "value": "customer_id"},
			map[string]any{"type": "uui", "target": "crm_id", "purpose": "bland", "encoding": "ascii", "content": "id"},
		},
	}}})
	provider := startSipp(t, "provider_mapped_uas.xml", "-p", strconv.Itoa(providerPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	uac := startSipp(t, "trunk_uac_ip.xml", n.sip, "-s", "+14155550100", "-p", strconv.Itoa(uacPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	provider.wait(t, 40*time.Second)
	uac.wait(t, 40*time.Second)
	disc := h.wait("disconnect", 10*time.Second)
	checkSchema(t, disc.ev)
	if disc.vars.Get("crm_id") != "42" || disc.vars.Get("customer_id") != "cust-77" {
		t.Errorf("disconnect variables: %q", disc.raw)
	}
}

// Numbers route calls only while their account has the sip feature, and
// only to an application of the same account.
func TestTrunkInboundRoutesNeedSIPFeature(t *testing.T) {
	n := startNode(t)
	appID, _ := n.app(t, map[string]any{})
	n.attachSIP(t, map[string]any{"phone_number": "+14155550102", "directions": []any{map[string]any{
		"type": "inbound", "application_id": appID, "sip_endpoint": "sip:127.0.0.1:5999",
	}}})
	apps := frontDoor{n.srv.store, n.srv.trunks}
	rs, err := apps.SIPNumberRoutes(t.Context(), "127.0.0.1", "14155550102")
	if err != nil || len(rs) != 1 || rs[0].Application.ID != appID || len(rs[0].AllowedSources) != 1 || rs[0].AllowedSources[0].String() != "127.0.0.1/32" {
		t.Fatalf("routes: %+v %v", rs, err)
	}
	if err := n.srv.store.SetAccountFeatures(t.Context(), n.creds.AccountID, []string{"voice"}); err != nil {
		t.Fatal(err)
	}
	if rs, err := apps.SIPNumberRoutes(t.Context(), "127.0.0.1", "+14155550102"); err != nil || len(rs) != 0 {
		t.Fatalf("routes without the sip feature: %+v %v", rs, err)
	}
}
