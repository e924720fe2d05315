package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/store"
)

// callAuth is call with an explicit Authorization header ("" for none).
func (e *env) callAuth(method, path, auth string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return e.do(req, out)
}

func (e *env) enableSIP() {
	e.t.Helper()
	if err := e.st.SetAccountFeatures(context.Background(), e.creds.AccountID, []string{"voice", store.FeatureSIP}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) apiKey() string {
	e.t.Helper()
	var created SIPEnvelope[APIKeyCreated]
	if c := e.call("POST", "/v1/api-keys", map[string]any{"name": "test"}, &created); c != 201 || !strings.HasPrefix(created.Data.Key, store.APIKeyPrefix) {
		e.t.Fatalf("create api key: %d %+v", c, created)
	}
	return created.Data.Key
}

func TestSIPAPIKeyAuthAndEntitlement(t *testing.T) {
	e := newEnv(t)
	var p problem
	if c := e.call("GET", "/v1/sip/trunks", nil, &p); c != 403 || !p.mentions(`"sip" feature`) {
		t.Fatalf("without the feature: %d %+v", c, p)
	}
	// The entitlement check comes before the body is looked at.
	if c := e.call("POST", "/v1/sip/attach", `{"nonsense":`, &p); c != 403 {
		t.Fatalf("attach without the feature: %d", c)
	}
	key := e.apiKey()
	if c := e.callAuth("GET", "/v1/sip/trunks", key, nil, nil); c != 403 {
		t.Fatalf("api key without the feature: %d", c)
	}
	e.enableSIP()
	for _, auth := range []string{key, "Bearer " + key, "bearer  " + key, "Bearer " + e.token} {
		var list SIPEnvelope[[]SIPTrunkView]
		if c := e.callAuth("GET", "/v1/sip/trunks", auth, nil, &list); c != 200 || list.Data == nil {
			t.Errorf("auth %.12q…: %d", auth, c)
		}
	}
	if raw := e.rawGet("/v1/sip/trunks"); !strings.Contains(raw, `"errors":null`) {
		t.Fatalf("errors is not null: %s", raw)
	}
	for _, auth := range []string{"", key + "x", store.APIKeyPrefix + "nope", "Token " + key} {
		if c := e.callAuth("GET", "/v1/sip/trunks", auth, nil, nil); c != 401 {
			t.Errorf("auth %q: %d, want 401", auth, c)
		}
	}
	// API keys are for the /v1/sip routes only.
	if c := e.callAuth("GET", e.apps(), key, nil, nil); c != 401 {
		t.Errorf("api key on a bearer-only route: %d", c)
	}
	if c := e.callAuth("POST", "/v1/api-keys", key, `{}`, nil); c != 401 {
		t.Errorf("api key makes api keys: %d", c)
	}
	// A key made without a body; unknown fields are refused.
	if c := e.call("POST", "/v1/api-keys", nil, nil); c != 201 {
		t.Errorf("api key without body: %d", c)
	}
	if c := e.call("POST", "/v1/api-keys", `{"name":"x","scope":"all"}`, &p); c != 400 || !p.mentions("scope") {
		t.Errorf("api key unknown field: %d %+v", c, p)
	}
	// Another account's key sees its own (entitled) account only.
	ctx := context.Background()
	other, _ := e.st.CreateAccount(ctx, "")
	e.st.SetAccountFeatures(ctx, other.ID, []string{store.FeatureSIP})
	_, otherKey, _ := e.st.CreateAPIKey(ctx, other.ID, "")
	var tr SIPEnvelope[SIPTrunkView]
	if c := e.callAuth("POST", "/v1/sip/trunks", key, map[string]any{"name": "mine", "sip_endpoint": "sip:pbx.example.com"}, &tr); c != 201 || tr.Data.OrgID != e.creds.AccountID {
		t.Fatalf("create trunk: %d %+v", c, tr)
	}
	var list SIPEnvelope[[]SIPTrunkView]
	if c := e.callAuth("GET", "/v1/sip/trunks", otherKey, nil, &list); c != 200 || len(list.Data) != 0 {
		t.Fatalf("other account lists: %d %+v", c, list.Data)
	}
	if c := e.callAuth("GET", "/v1/sip/trunks/"+tr.Data.ID, otherKey, nil, nil); c != 404 {
		t.Fatalf("other account gets trunk: %d", c)
	}
}

func TestSIPAttachInvalidPayloads(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	out := func(ep string) map[string]any { return map[string]any{"type": "outbound", "sip_endpoint": ep} }
	base := func(kv ...any) map[string]any {
		m := map[string]any{"phone_number": "+14150000000", "service": "sip", "directions": []any{out("sip:carrier.example.com")}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("+1415000%04d", i)
	}
	cases := []struct {
		name    string
		body    any
		mention string
	}{
		{"empty body", "", "request body is required"},
		{"malformed", `{"phone_number":`, "malformed JSON"},
		{"trailing data", `{"service":"sip"} {}`, "after the JSON object"},
		{"unknown field", base("colour", "red"), "colour"},
		{"wrong type", base("phone_number", 14150000000), "phone_number"},
		{"nested wrong type", base("directions", []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:h", "options": map[string]any{"port": "5061"}}}), "port"},
		{"nested unknown field", base("directions", []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:h", "optoins": map[string]any{}}}), "optoins"},
		{"no service", base("service", nil), "service"},
		{"wrong service", base("service", "pstn"), "service"},
		{"both number fields", base("phone_numbers", []string{"+14150000001"}), "phone_numbers"},
		{"neither number field", base("phone_number", nil), "phone_number"},
		{"101 numbers", base("phone_number", nil, "phone_numbers", many), "at most 100"},
		{"empty list", base("phone_number", nil, "phone_numbers", []string{}), "phone_numbers"},
		{"extension without trunk", base("phone_number", "1001"), "trunk_id"},
		{"no directions", base("directions", nil), "directions"},
		{"three directions", base("directions", []any{out("sip:a"), map[string]any{"type": "inbound"}, out("sip:b")}), "directions"},
		{"duplicate direction", base("directions", []any{out("sip:a"), out("sip:b")}), "directions[1].type"},
		{"bad direction type", base("directions", []any{map[string]any{"type": "both"}}), "directions[0].type"},
		{"outbound without endpoint", base("directions", []any{map[string]any{"type": "outbound"}}), "directions[0].sip_endpoint"},
		{"bad endpoint", base("directions", []any{out("sip:carrier example")}), "directions[0].sip_endpoint"},
		{"bad transport", base("directions", []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:h", "options": map[string]any{"transport": "sctp"}}}), "directions[0].options.transport"},
		{"bad port", base("directions", []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:h", "options": map[string]any{"port": 99999}}}), "directions[0].options.port"},
		{"register without auth", base("directions", []any{map[string]any{"type": "inbound", "auth_mode": "register"}}), "directions[0].register_auth"},
		{"register short password", base("directions", []any{map[string]any{"type": "inbound", "auth_mode": "register", "register_auth": map[string]any{"username": "pbx", "password": "1234567"}}}), "directions[0].register_auth.password"},
		{"bad auth mode", base("directions", []any{map[string]any{"type": "inbound", "auth_mode": "token"}}), "directions[0].auth_mode"},
		{"bad header rule", base("directions", []any{map[string]any{"type": "inbound", "headers": map[string]any{"direction": "inbound", "headers": []any{map[string]any{"type": "uui", "target": "id", "encoding": "base64"}}}}}), "directions[0].headers.headers[0].encoding"},
		{"header rule unknown field", base("directions", []any{map[string]any{"type": "inbound", "headers": []any{map[string]any{"type": "custom", "key": "X-A", "value": "a", "regex": "x"}}}}), "regex"},
		{"unknown trunk", base("trunk_id", "trk_missing"), "trunk_id"},
	}
	for _, tc := range cases {
		var p problem
		if c := e.call("POST", "/v1/sip/attach", tc.body, &p); c != 400 || !p.mentions(tc.mention) {
			t.Errorf("%s: got %d %+v, want 400 naming %q", tc.name, c, p, tc.mention)
		}
	}
	var page SIPEnvelope[SIPNumberList]
	e.call("GET", "/v1/sip/numbers", nil, &page)
	if page.Data.Total != 0 {
		t.Fatalf("invalid payloads configured %d numbers", page.Data.Total)
	}
}

func TestSIPAttachGetUpdateDetach(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	var att SIPEnvelope[SIPAttachResult]
	c := e.call("POST", "/v1/sip/attach", map[string]any{
		"phone_numbers": []string{"+14150000001", "415-000-0002", "not a number"},
		"service":       "sip",
		"directions": []any{
			map[string]any{"type": "inbound", "auth_mode": "register", "register_auth": map[string]any{"username": "pbx-acme", "password": "hunter2hunter2"},
				"headers": map[string]any{"direction": "inbound", "headers": []any{
					map[string]any{"type": "custom", "key": "X-Cool-Guy", "value": "First_Name"},
					map[string]any{"type": "uui", "target": "id", "purpose": "bland", "encoding": "hex", "content": "id"},
				}}},
			map[string]any{"type": "outbound", "sip_endpoint": "sip:trunk.provider.com", "options": map[string]any{"port": 5061, "transport": "tls", "secure_media": true, "sip_username": "acme", "sip_password": "trunk-pass"},
				"headers": []any{map[string]any{"passthrough": true, "key": "X-Tenant", "value": "acme"}}},
		},
	}, &att)
	if c != 200 || strings.Join(att.Data.Configured, ",") != "+14150000001,+14150000002" || len(att.Data.Failed) != 1 ||
		att.Data.Failed[0].PhoneNumber != "not a number" || !strings.Contains(att.Data.Failed[0].Reason, "phone_numbers[2]") {
		t.Fatalf("attach: %d %+v", c, att)
	}
	if att.Data.RegisterPasswordForPBX != store.DeriveRegisterPassword("pbx-acme", "hunter2hunter2") {
		t.Fatalf("register_password_for_pbx %q", att.Data.RegisterPasswordForPBX)
	}

	var got SIPEnvelope[SIPConfigPair]
	if c := e.call("GET", "/v1/sip?phone_number=%2B14150000001", nil, &got); c != 200 || got.Data.Inbound == nil || got.Data.Outbound == nil {
		t.Fatalf("get: %d %+v", c, got)
	}
	in, out := got.Data.Inbound, got.Data.Outbound
	if in.Number != "+14150000001" || in.Direction != "inbound" || in.OrgID != e.creds.AccountID || in.SIPEndpoint != nil || in.Options.AuthMode != "register" ||
		in.Options.RegisterUsername != "pbx-acme" || in.Headers == nil || len(in.Headers.Headers) != 2 {
		t.Fatalf("inbound: %+v", in)
	}
	if out.SIPEndpoint == nil || *out.SIPEndpoint != "sip:trunk.provider.com" || out.Options.Port != 5061 || out.Options.Transport != "tls" || !out.Options.SecureMedia ||
		!out.Options.HasSIPPassword || out.Options.AuthMode != "" || out.Headers == nil || out.Headers.Direction != "outbound" {
		t.Fatalf("outbound: %+v", out)
	}
	raw := e.rawGet("/v1/sip?phone_number=4150000001")
	for _, secret := range []string{"hunter2hunter2", "trunk-pass", att.Data.RegisterPasswordForPBX} {
		if strings.Contains(raw, secret) {
			t.Fatalf("GET leaks %q: %s", secret, raw)
		}
	}
	if !strings.Contains(raw, `"errors":null`) || !strings.Contains(raw, `"trunk_id":null`) {
		t.Fatalf("GET shape: %s", raw)
	}
	var none SIPEnvelope[SIPConfigPair]
	if c := e.call("GET", "/v1/sip?phone_number=%2B14159999999", nil, &none); c != 200 || none.Data.Inbound != nil || none.Data.Outbound != nil {
		t.Fatalf("unconfigured number: %d %+v", c, none)
	}
	if !strings.Contains(e.rawGet("/v1/sip?phone_number=%2B14159999999"), `"inbound":null,"outbound":null`) {
		t.Fatal("unconfigured number: not null")
	}
	var p problem
	if c := e.call("GET", "/v1/sip", nil, &p); c != 400 || !p.mentions("phone_number") {
		t.Fatalf("get without number: %d %+v", c, p)
	}
	if c := e.call("GET", "/v1/sip?phone_number=%2B1415abc", nil, &p); c != 400 || !p.mentions("phone_number") {
		t.Fatalf("get bad number: %d %+v", c, p)
	}

	// Update outbound (partial) and switch inbound to ip.
	var up SIPEnvelope[SIPUpdateResult]
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "outbound", "sip_endpoint": "sip:new.provider.com"}}, &up); c != 200 ||
		*up.Data.SIPEndpoint != "sip:new.provider.com" || up.Data.Options.Port != 5061 || !up.Data.Options.HasSIPPassword || up.Data.RegisterPasswordForPBX != "" {
		t.Fatalf("update outbound: %d %+v", c, up)
	}
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "inbound", "auth_mode": "ip"}}, &up); c != 200 || up.Data.Options.AuthMode != "ip" || up.Data.Options.RegisterUsername != "" {
		t.Fatalf("update to ip: %d %+v", c, up)
	}
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "inbound", "auth_mode": "register", "register_auth": map[string]any{"username": "pbx2", "password": "another-secret"}}}, &up); c != 200 ||
		up.Data.RegisterPasswordForPBX != store.DeriveRegisterPassword("pbx2", "another-secret") {
		t.Fatalf("update to register: %d %+v", c, up)
	}
	updateCases := []struct {
		name    string
		body    any
		status  int
		mention string
	}{
		{"no number", map[string]any{"updates": map[string]any{"type": "outbound"}}, 400, "phone_number"},
		{"no type", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{}}, 400, "updates.type"},
		{"clear outbound endpoint", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "outbound", "sip_endpoint": ""}}, 400, "updates.sip_endpoint"},
		{"secure media over udp", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "outbound", "options": map[string]any{"transport": "udp"}}}, 400, "updates.options.secure_media"},
		{"unknown number", map[string]any{"phone_number": "+14150000009", "updates": map[string]any{"type": "outbound"}}, 404, "no outbound SIP configuration"},
		{"register field on outbound", map[string]any{"phone_number": "+14150000001", "updates": map[string]any{"type": "outbound", "auth_mode": "ip"}}, 400, "updates.auth_mode"},
	}
	for _, tc := range updateCases {
		var p problem
		if c := e.call("POST", "/v1/sip/update", tc.body, &p); c != tc.status || !p.mentions(tc.mention) {
			t.Errorf("update %s: %d %+v, want %d naming %q", tc.name, c, p, tc.status, tc.mention)
		}
	}

	// Numbers, paginated.
	var page SIPEnvelope[SIPNumberList]
	if c := e.call("GET", "/v1/sip/numbers?limit=1", nil, &page); c != 200 || page.Data.Total != 2 || len(page.Data.Numbers) != 1 || page.Data.NextCursor == nil {
		t.Fatalf("numbers page 1: %d %+v", c, page)
	}
	first := page.Data.Numbers[0]
	if first.PhoneNumber != "+14150000001" || !first.Inbound || !first.Outbound || first.Configurations != 2 || len(first.TrunkIDs) != 0 {
		t.Fatalf("summary: %+v", first)
	}
	var page2 SIPEnvelope[SIPNumberList]
	if c := e.call("GET", "/v1/sip/numbers?limit=1&cursor="+strings.ReplaceAll(*page.Data.NextCursor, "+", "%2B"), nil, &page2); c != 200 || len(page2.Data.Numbers) != 1 ||
		page2.Data.Numbers[0].PhoneNumber != "+14150000002" || page2.Data.NextCursor != nil {
		t.Fatalf("numbers page 2: %d %+v", c, page2)
	}
	if c := e.call("GET", "/v1/sip/numbers?limit=101", nil, &p); c != 400 || !p.mentions("limit") {
		t.Fatalf("limit 101: %d %+v", c, p)
	}

	// Detach the outbound direction of both numbers and one unknown.
	var det SIPEnvelope[SIPDetachResult]
	if c := e.call("POST", "/v1/sip/detach", map[string]any{"phone_numbers": []string{"+14150000001", "+14150000002", "+14150000003"}, "directions": []string{"outbound"}, "service": "sip"}, &det); c != 200 ||
		len(det.Data.Detached) != 2 || len(det.Data.Failed) != 1 || det.Data.Failed[0].PhoneNumber != "+14150000003" {
		t.Fatalf("detach: %d %+v", c, det)
	}
	if c := e.call("POST", "/v1/sip/detach", map[string]any{"phone_number": "+14150000001", "directions": []string{"sideways"}}, &p); c != 400 || !p.mentions("directions[0]") {
		t.Fatalf("detach bad direction: %d %+v", c, p)
	}
	e.call("GET", "/v1/sip?phone_number=%2B14150000001", nil, &got)
	if got.Data.Outbound != nil || got.Data.Inbound == nil {
		t.Fatalf("after detach: %+v", got.Data)
	}
}

func TestSIPTrunksAndLimits(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	var p problem
	if c := e.call("POST", "/v1/sip/trunks", map[string]any{"sip_endpoint": "sip:pbx.example.com"}, &p); c != 400 || !p.mentions("name") {
		t.Fatalf("trunk without name: %d %+v", c, p)
	}
	if c := e.call("POST", "/v1/sip/trunks", map[string]any{"name": "x", "sip_endpoint": "sip:pbx.example.com:0"}, &p); c != 400 || !p.mentions("sip_endpoint") || !p.mentions("port") {
		t.Fatalf("trunk bad endpoint: %d %+v", c, p)
	}
	var created SIPEnvelope[SIPTrunkView]
	if c := e.call("POST", "/v1/sip/trunks", map[string]any{
		"name": "Carrier A", "sip_endpoint": "sip:pbx.example.com", "auth_mode": "register",
		"register_auth": map[string]any{"username": "acme", "password": "registerme"},
		"options":       map[string]any{"transport": "tls", "sip_username": "acme", "sip_password": "digest-pass"},
	}, &created); c != 201 || created.Data.RegisterPasswordForPBX == "" || created.Data.Options.AuthMode != "register" || !created.Data.Options.HasSIPPassword {
		t.Fatalf("create trunk: %d %+v", c, created)
	}
	trunk := created.Data.ID
	var one SIPEnvelope[SIPTrunkView]
	if c := e.call("GET", "/v1/sip/trunks/"+trunk, nil, &one); c != 200 || one.Data.Name != "Carrier A" || one.Data.RegisterPasswordForPBX != "" {
		t.Fatalf("get trunk: %d %+v", c, one)
	}
	if raw := e.rawGet("/v1/sip/trunks/" + trunk); strings.Contains(raw, "digest-pass") || strings.Contains(raw, "registerme") {
		t.Fatalf("trunk leaks a secret: %s", raw)
	}
	if c := e.call("PATCH", "/v1/sip/trunks/"+trunk, map[string]any{"name": "Carrier B", "options": map[string]any{"port": 5071}}, &one); c != 200 || one.Data.Name != "Carrier B" || one.Data.Options.Port != 5071 || one.Data.Options.Transport != "tls" {
		t.Fatalf("patch trunk: %d %+v", c, one)
	}
	if c := e.call("PATCH", "/v1/sip/trunks/"+trunk, map[string]any{"auth_mode": "bogus"}, &p); c != 400 || !p.mentions("auth_mode") {
		t.Fatalf("patch bad auth: %d %+v", c, p)
	}
	if c := e.call("PATCH", "/v1/sip/trunks/trk_missing", map[string]any{"name": "x"}, nil); c != 404 {
		t.Fatalf("patch missing: %d", c)
	}

	// Numbers bound to the trunk: DIDs and extensions are accepted, outbound inherits the endpoint.
	var att SIPEnvelope[SIPAttachResult]
	if c := e.call("POST", "/v1/sip/attach", map[string]any{"phone_numbers": []string{"1001", "+14155550100"}, "service": "sip", "trunk_id": trunk,
		"directions": []any{map[string]any{"type": "outbound"}, map[string]any{"type": "inbound"}}}, &att); c != 200 || len(att.Data.Configured) != 2 {
		t.Fatalf("attach to trunk: %d %+v", c, att)
	}
	var got SIPEnvelope[SIPConfigPair]
	if e.call("GET", "/v1/sip?phone_number=1001", nil, &got); got.Data.Outbound == nil || got.Data.Outbound.TrunkID == nil || *got.Data.Outbound.TrunkID != trunk || got.Data.Outbound.SIPEndpoint != nil {
		t.Fatalf("trunk-bound config: %+v", got.Data)
	}

	// The 11th configuration of a number fails; ten are fine.
	var trunks []string
	for i := range 5 {
		var tr SIPEnvelope[SIPTrunkView]
		e.call("POST", "/v1/sip/trunks", map[string]any{"name": fmt.Sprint("t", i), "sip_endpoint": "sip:pbx.example.com"}, &tr)
		trunks = append(trunks, tr.Data.ID)
	}
	const num = "+14155550199"
	for i := range 5 {
		if c := e.call("POST", "/v1/sip/attach", map[string]any{"phone_number": num, "service": "sip", "trunk_id": trunks[i],
			"directions": []any{map[string]any{"type": "outbound"}, map[string]any{"type": "inbound"}}}, &att); c != 200 || len(att.Data.Configured) != 1 {
			t.Fatalf("attach %d: %d %+v", i, c, att)
		}
	}
	if c := e.call("POST", "/v1/sip/attach", map[string]any{"phone_number": num, "service": "sip", "trunk_id": trunk,
		"directions": []any{map[string]any{"type": "inbound"}}}, &att); c != 200 || len(att.Data.Configured) != 0 || len(att.Data.Failed) != 1 || !strings.Contains(att.Data.Failed[0].Reason, "at most 10") {
		t.Fatalf("11th configuration: %d %+v", c, att)
	}
	if c := e.call("POST", "/v1/sip/update", map[string]any{"phone_number": num, "updates": map[string]any{"type": "inbound"}}, &p); c != 400 || !p.mentions("trunk_id") {
		t.Fatalf("ambiguous update: %d %+v", c, p)
	}
	var list SIPEnvelope[SIPNumberList]
	if e.call("GET", "/v1/sip/numbers?trunk_id="+trunk, nil, &list); list.Data.Total != 2 {
		t.Fatalf("numbers of trunk: %+v", list.Data)
	}

	if c := e.call("PATCH", "/v1/sip/trunks/"+trunk, map[string]any{"sip_endpoint": ""}, &p); c != 400 || !p.mentions("sip_endpoint") || !p.mentions("inherit") {
		t.Fatalf("clearing an inherited endpoint: %d %+v", c, p)
	}
	// Delete: refused while numbers are bound.
	if c := e.call("DELETE", "/v1/sip/trunks/"+trunk, nil, &p); c != 409 || !p.mentions("2 numbers") {
		t.Fatalf("delete bound trunk: %d %+v", c, p)
	}
	var det SIPEnvelope[SIPDetachResult]
	if c := e.call("POST", "/v1/sip/detach", map[string]any{"phone_numbers": []string{"1001", "+14155550100"}, "directions": []string{"inbound", "outbound"}, "trunk_id": trunk}, &det); c != 200 || len(det.Data.Detached) != 2 {
		t.Fatalf("detach from trunk: %d %+v", c, det)
	}
	if c := e.call("DELETE", "/v1/sip/trunks/"+trunk, nil, nil); c != 204 {
		t.Fatalf("delete trunk: %d", c)
	}
	if c := e.call("GET", "/v1/sip/trunks/"+trunk, nil, nil); c != 404 {
		t.Fatalf("get deleted trunk: %d", c)
	}
}

func TestSIPParseDestination(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	good := []struct {
		in        string
		host      string
		port      int
		transport string
	}{
		{"sip:user@host.example.com:5061;transport=tls", "host.example.com", 5061, "tls"},
		{"tls://host.example.com", "host.example.com", 5061, "tls"},
		{"203.0.113.5:5080", "203.0.113.5", 5080, "udp"},
		{"pbx.example.com", "pbx.example.com", 5060, "udp"},
		{"sips:pbx.example.com", "pbx.example.com", 5061, "tls"},
	}
	for _, tc := range good {
		var out SIPEnvelope[ParsedDestination]
		if c := e.call("POST", "/v1/sip/parse-destination", map[string]any{"destination": tc.in}, &out); c != 200 || out.Data.Host != tc.host || out.Data.Port != tc.port || out.Data.Transport != tc.transport {
			t.Errorf("%s: %d %+v", tc.in, c, out.Data)
		}
	}
	bad := map[string]string{
		"sip:host:99999":        "from 1 to 65535",
		"http://host":           `scheme "http://"`,
		"sips:h;transport=udp":  "sips: needs TLS",
		"":                      "empty",
		"sip:h;transport=carry": "use udp, tcp or tls",
	}
	for in, hint := range bad {
		var p problem
		if c := e.call("POST", "/v1/sip/parse-destination", map[string]any{"destination": in}, &p); c != 400 || !p.mentions("destination") || !p.mentions(hint) {
			t.Errorf("%q: %d %+v, want 400 with %q", in, c, p, hint)
		}
	}
}
