package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

const testDomain = "sip.test.example"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	st    *store.Store
	creds store.Credentials
	token string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the API's configuration changed by edit.
func newEnvWith(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDatabase(ctx, t.TempDir(), testenv.StoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := st.CreateClient(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, SIPDomain: testDomain, DigestAlgorithms: []string{"MD5"}, TokenKey: []byte("0123456789abcdef0123456789abcdef"), Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	s := New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st, creds: creds}
	e.token = e.getToken(creds.ClientID, creds.ClientSecret)
	return e
}

func (e *env) getToken(id, secret string) string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	var tok TokenResponse
	if code := e.do(req, &tok); code != 200 {
		e.t.Fatalf("token: status %d", code)
	}
	return tok.AccessToken
}

func (e *env) do(req *http.Request, out any) int {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("decode %s: %v", b, err)
		}
	}
	return resp.StatusCode
}

// call sends JSON with the env's bearer token and decodes the answer.
func (e *env) call(method, path string, body any, out any) int {
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
	req.Header.Set("Authorization", "Bearer "+e.token)
	return e.do(req, out)
}

func (e *env) apps() string { return "/v2/accounts/" + e.creds.AccountID + "/voice-applications" }

type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
	// RFC 6749 errors
	Error string `json:"error"`
}

func (p problem) mentions(s string) bool {
	if strings.Contains(p.Detail, s) {
		return true
	}
	for _, e := range p.Errors {
		if strings.Contains(e.Location, s) || strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

func TestToken(t *testing.T) {
	e := newEnv(t)
	post := func(body string, basic bool, secret string) (int, problem) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(e.creds.ClientID, secret)
		}
		var p problem
		return e.do(req, &p), p
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.creds.ClientID}, "client_secret": {e.creds.ClientSecret}}.Encode()
	if code, _ := post(form, false, ""); code != 200 {
		t.Fatalf("form credentials: %d", code)
	}
	cases := []struct {
		name   string
		body   string
		basic  bool
		secret string
		status int
		err    string
	}{
		{"wrong secret", "grant_type=client_credentials", true, "nope", 401, "invalid_client"},
		{"no credentials", "grant_type=client_credentials", false, "", 401, "invalid_client"},
		{"password grant", "grant_type=password", true, e.creds.ClientSecret, 400, "unsupported_grant_type"},
		{"no grant", "", true, e.creds.ClientSecret, 400, "invalid_request"},
		{"bad form", "%zz", true, e.creds.ClientSecret, 400, "invalid_request"},
	}
	for _, tc := range cases {
		code, p := post(tc.body, tc.basic, tc.secret)
		if code != tc.status || p.Error != tc.err {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, code, p.Error, tc.status, tc.err)
		}
	}
}

func TestAuthOnManagementRoutes(t *testing.T) {
	e := newEnv(t)
	get := func(path, auth string) int {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return e.do(req, nil)
	}
	if c := get(e.apps(), ""); c != 401 {
		t.Errorf("no token: %d", c)
	}
	if c := get(e.apps(), "Bearer wv1.garbage.sig"); c != 401 {
		t.Errorf("bad token: %d", c)
	}
	if c := get(e.apps(), "Bearer "+e.token); c != 200 {
		t.Errorf("good token: %d", c)
	}
	// Another account's token is refused on this account's paths.
	other, _ := e.st.CreateAccount(context.Background(), "")
	oc, _ := e.st.CreateClient(context.Background(), other.ID)
	otherToken := e.getToken(oc.ClientID, oc.ClientSecret)
	if c := get(e.apps(), "Bearer "+otherToken); c != 403 {
		t.Errorf("other account's token: %d", c)
	}
	// Management routes take bearer tokens only.
	req, _ := http.NewRequest("GET", e.srv.URL+e.apps(), nil)
	req.SetBasicAuth(e.creds.ClientID, e.creds.ClientSecret)
	if c := e.do(req, nil); c != 401 {
		t.Errorf("basic on a bearer-only route: %d", c)
	}
}

func TestVoiceApplicationLifecycle(t *testing.T) {
	e := newEnv(t)
	var created Envelope[VoiceApplication]
	if c := e.call("POST", e.apps(), map[string]any{"applicationName": "ivr", "callInitiatedCallbackUrl": "https://example.com/cb", "password": "s3cret"}, &created); c != 201 {
		t.Fatalf("create: %d", c)
	}
	app := created.Data
	if app.SIPURI != nil || app.InboundSIPCallsEnabled || app.CallInitiatedMethod != "POST" || created.Links == nil || created.Errors == nil {
		t.Fatalf("created: %+v", created)
	}
	path := e.apps() + "/" + app.ApplicationID

	// Enabling without an auth method is refused and names the field.
	var p problem
	if c := e.call("PATCH", path, map[string]any{"inboundSipCallsEnabled": true}, &p); c != 400 || !p.mentions("inboundSipCallsEnabled") {
		t.Fatalf("enable without auth: %d %+v", c, p)
	}
	// Enabling with password auth returns the password once.
	var en Envelope[VoiceApplication]
	if c := e.call("PATCH", path, map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true}, &en); c != 200 {
		t.Fatalf("enable: %d", c)
	}
	if en.Data.SIPAuthPassword == "" || en.Data.SIPURI == nil || *en.Data.SIPURI != "sip:"+app.ApplicationID+"@"+testDomain {
		t.Fatalf("enabled: %+v", en.Data)
	}
	var got Envelope[VoiceApplication]
	e.call("GET", path, nil, &got)
	if got.Data.SIPAuthPassword != "" || !got.Data.PasswordAuthEnabled || got.Data.CallInitiatedCallbackURL != "https://example.com/cb" {
		t.Fatalf("GET shows password or lost fields: %+v", got.Data)
	}
	raw := e.rawGet(path)
	if strings.Contains(raw, "s3cret") || strings.Contains(raw, en.Data.SIPAuthPassword) || strings.Contains(raw, "$schema") {
		t.Fatalf("GET leaks a secret or adds $schema: %s", raw)
	}
	// The stored HA1 matches the shown password.
	sa, _ := e.st.Application(context.Background(), e.creds.AccountID, app.ApplicationID)
	if m, _ := store.DigestHA1(app.ApplicationID, testDomain, en.Data.SIPAuthPassword); m != sa.SIPHA1MD5 {
		t.Fatal("HA1 does not match the password")
	}

	// Regions patch alone keeps password and URI.
	var rg Envelope[VoiceApplication]
	if c := e.call("PATCH", path, map[string]any{"allowedRegions": []string{"EU"}}, &rg); c != 200 || rg.Data.SIPAuthPassword != "" || !rg.Data.PasswordAuthEnabled || len(rg.Data.AllowedRegions) != 1 {
		t.Fatalf("regions: %d %+v", c, rg.Data)
	}
	// Bad CIDR: 400 naming the entry, nothing changed.
	p = problem{}
	if c := e.call("PATCH", path, map[string]any{"allowedSourceIps": []string{"203.0.113.0/24", "10.0.0.0/8"}, "applicationName": "changed"}, &p); c != 400 || !p.mentions("allowedSourceIps[1]") || !p.mentions("private") {
		t.Fatalf("private CIDR: %d %+v", c, p)
	}
	e.call("GET", path, nil, &got)
	if got.Data.ApplicationName != "ivr" || len(got.Data.AllowedSourceIPs) != 0 {
		t.Fatalf("failed PATCH changed data: %+v", got.Data)
	}
	// Rotation: sending passwordAuthEnabled again gives a new password.
	var rot Envelope[VoiceApplication]
	e.call("PATCH", path, map[string]any{"passwordAuthEnabled": true}, &rot)
	if rot.Data.SIPAuthPassword == "" || rot.Data.SIPAuthPassword == en.Data.SIPAuthPassword {
		t.Fatal("password not rotated")
	}
	// Disabling clears everything.
	var dis Envelope[VoiceApplication]
	e.call("PATCH", path, map[string]any{"inboundSipCallsEnabled": false}, &dis)
	if dis.Data.SIPURI != nil || dis.Data.PasswordAuthEnabled || len(dis.Data.AllowedRegions) != 0 || len(dis.Data.AllowedSourceIPs) != 0 {
		t.Fatalf("disabled: %+v", dis.Data)
	}
	if !strings.Contains(e.rawGet(path), `"sipUri":null`) {
		t.Fatal("sipUri is not null when disabled")
	}

	var list Envelope[[]VoiceApplication]
	if c := e.call("GET", e.apps(), nil, &list); c != 200 || len(list.Data) != 1 {
		t.Fatalf("list: %d %d", c, len(list.Data))
	}
	if c := e.call("DELETE", path, nil, nil); c != 204 {
		t.Fatalf("delete: %d", c)
	}
	if c := e.call("GET", path, nil, nil); c != 404 {
		t.Fatalf("get deleted: %d", c)
	}
}

func (e *env) rawGet(path string) string {
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	var created Envelope[VoiceApplication]
	e.call("POST", e.apps(), map[string]any{"applicationName": "keep"}, &created)
	path := e.apps() + "/" + created.Data.ApplicationID
	cases := []struct {
		name, method, path, body string
		status                   int
		mention                  string
	}{
		{"malformed JSON", "PATCH", path, `{"applicationName":`, 400, ""},
		{"unknown field", "PATCH", path, `{"applicationName":"x","colour":"red"}`, 422, "colour"},
		{"field in another case", "PATCH", path, `{"callInitiatedCallbackURL":"https://example.com/x"}`, 422, "callInitiatedCallbackURL"},
		{"wrong type", "PATCH", path, `{"applicationName":42}`, 422, "applicationName"},
		{"wrong enum", "PATCH", path, `{"callInitiatedMethod":"PUT"}`, 422, "callInitiatedMethod"},
		{"too many IPs", "PATCH", path, `{"inboundSipCallsEnabled":true,"allowedSourceIps":[` + strings.Repeat(`"8.8.8.8/32",`, 25) + `"8.8.4.4/32"]}`, 422, "allowedSourceIps"},
		{"missing name", "POST", e.apps(), `{}`, 422, "applicationName"},
		{"oversized", "PATCH", path, `{"applicationName":"` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"unknown id", "PATCH", e.apps() + "/00000000-0000-0000-0000-000000000000", `{"applicationName":"x"}`, 404, ""},
	}
	for _, tc := range cases {
		var p problem
		c := e.call(tc.method, tc.path, tc.body, &p)
		if c != tc.status || (tc.mention != "" && !p.mentions(tc.mention)) {
			t.Errorf("%s: got %d %+v, want %d naming %q", tc.name, c, p, tc.status, tc.mention)
		}
	}
	var got Envelope[VoiceApplication]
	e.call("GET", path, nil, &got)
	if got.Data.ApplicationName != "keep" || got.Data.CallInitiatedMethod != "POST" || got.Data.InboundSIPCallsEnabled {
		t.Fatalf("bad input changed data: %+v", got.Data)
	}
}

// A refusal names the field the request sent, with the value it sent.
func TestRefusalEchoesTheValueSent(t *testing.T) {
	e := newEnv(t)
	var created Envelope[VoiceApplication]
	e.call("POST", e.apps(), map[string]any{"applicationName": "pw"}, &created)
	path := e.apps() + "/" + created.Data.ApplicationID
	if c := e.call("PATCH", path, map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true}, nil); c != 200 {
		t.Fatalf("enable: %d", c)
	}
	var raw map[string]any
	if c := e.call("PATCH", path, map[string]any{"passwordAuthEnabled": false}, &raw); c != 400 {
		t.Fatalf("password off without a source list: %d %v", c, raw)
	}
	errs, _ := raw["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors: %v", raw)
	}
	d := errs[0].(map[string]any)
	if d["location"] != "body.passwordAuthEnabled" || d["value"] != false {
		t.Fatalf("refusal names %v = %v, want body.passwordAuthEnabled = false", d["location"], d["value"])
	}
}

// sipDigestAlgorithms reads back what is in force: the node default until
// the application sets its own.
func TestDigestAlgorithmsSetting(t *testing.T) {
	e := newEnv(t)
	var created Envelope[VoiceApplication]
	e.call("POST", e.apps(), map[string]any{"applicationName": "alg"}, &created)
	path := e.apps() + "/" + created.Data.ApplicationID
	if got := created.Data.SIPDigestAlgorithms; fmt.Sprint(got) != "[MD5]" {
		t.Errorf("default: %v", got)
	}
	var upd Envelope[VoiceApplication]
	if c := e.call("PATCH", path, map[string]any{"sipDigestAlgorithms": []string{"sha-256", "MD5"}}, &upd); c != 200 || fmt.Sprint(upd.Data.SIPDigestAlgorithms) != "[SHA-256 MD5]" {
		t.Errorf("set: %d %v", c, upd.Data.SIPDigestAlgorithms)
	}
	var p problem
	if c := e.call("PATCH", path, map[string]any{"sipDigestAlgorithms": []string{"SHA-512"}}, &p); c != 400 || !p.mentions("sipDigestAlgorithms") {
		t.Errorf("unknown algorithm: %d %+v", c, p)
	}
	if c := e.call("PATCH", path, map[string]any{"sipDigestAlgorithms": []string{}}, &upd); c != 200 || fmt.Sprint(upd.Data.SIPDigestAlgorithms) != "[MD5]" {
		t.Errorf("back to the default: %d %v", c, upd.Data.SIPDigestAlgorithms)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		if path == "/metrics" && !strings.Contains(string(b), "wasmvoice_http_requests_total") {
			t.Errorf("/metrics lacks wasmvoice_http_requests_total")
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
}

// The checked-in openapi.yaml must be what the code generates. Regenerate with
// `go run ./cmd/wasmvoice openapi > openapi.yaml` (or UPDATE_OPENAPI=1 go test ./api).
func TestOpenAPIUpToDate(t *testing.T) {
	want, err := OpenAPIYAML()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile("../openapi.yaml", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatalf("read openapi.yaml: %v (regenerate: go run ./cmd/wasmvoice openapi > openapi.yaml)", err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("openapi.yaml is stale: run `go run ./cmd/wasmvoice openapi > openapi.yaml`")
	}
}

// The landing page and the API reference work offline: every asset they
// name is served by the node itself, none from another host.
func TestDocsAndLandingPageAreSelfContained(t *testing.T) {
	e := newEnv(t)
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	pages := []string{"/", "/docs/"}
	seen := map[string]bool{}
	for len(pages) > 0 {
		p := pages[0]
		pages = pages[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, err := http.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(string(body), -1) {
			u := m[1]
			if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
				t.Errorf("%s names %q, not a path of this node", p, u)
				continue
			}
			pages = append(pages, u)
		}
	}
	for _, want := range []string{"/docs/swagger-ui-bundle.js", "/openapi.yaml", "/docs/LICENSE.txt", "/metrics"} {
		if !seen[want] {
			t.Errorf("%s is not linked from / or /docs/", want)
		}
	}
}
