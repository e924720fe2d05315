package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// TestVoiceErrorsAreVoiceApiError checks that every kind of error on a
// Voice route (ours, Huma's validation, the mux's) is a VoiceApiError with
// the spec's status, and that management routes keep problem details.
func TestVoiceErrorsAreVoiceApiError(t *testing.T) {
	e := newEnv(t)
	calls := "/api/v2/accounts/" + e.creds.AccountID + "/calls"
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		typ, mentions                  string
	}{
		{"unknown field", "POST", calls, "bearer", `{"to":"sip:a@b","from":"+15555551212","applicationId":"x","answerUrl":"http://h/a","bogus":1}`, 400, "validation", "bogus"},
		{"bad type", "POST", calls, "bearer", `{"to":"sip:a@b","from":"+15555551212","applicationId":"x","answerUrl":"http://h/a","callTimeout":"x"}`, 400, "validation", "callTimeout"},
		{"no such call", "GET", calls + "/c-nope", "bearer", "", 404, "not-found", "c-nope"},
		{"no credentials", "GET", calls, "", "", 401, "authentication", "authentication required"},
		{"other account", "GET", "/api/v2/accounts/1/calls", "bearer", "", 403, "authorization", "account 1"},
		{"unknown route", "GET", "/api/v2/accounts/" + e.creds.AccountID + "/nothing", "bearer", "", 404, "not-found", ""},
		{"wrong method", "PATCH", calls, "bearer", "{}", 405, "method-not-allowed", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", "Bearer "+e.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if len(got) != 3 || got["type"] != tc.typ || got["id"] != resp.Header.Get("X-Request-Id") {
				t.Errorf("body %s, want type %q and id %q", b, tc.typ, resp.Header.Get("X-Request-Id"))
			}
			if d, _ := got["description"].(string); d == "" || !strings.Contains(d, tc.mentions) {
				t.Errorf("description %q does not mention %q", d, tc.mentions)
			}
		})
	}
	t.Run("management routes keep problem details", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + e.apps())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 401 || ct != "application/problem+json" {
			t.Errorf("status %d, Content-Type %q", resp.StatusCode, ct)
		}
	})
}

// busyCalls is an engine whose one live call is always being redirected.
type busyCalls struct{ noEngine }

func (busyCalls) RedirectCall(string, string, bxml.Target) error {
	return fmt.Errorf("call c-1 is already being redirected: %w", ErrCallBusy)
}

// A call busy with another redirect is the spec's 409 conflict.
func TestUpdateCallConflict(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Calls = busyCalls{} })
	var got VoiceAPIError
	code := e.call("POST", "/api/v2/accounts/"+e.creds.AccountID+"/calls/c-1", map[string]any{"redirectUrl": "http://h/r"}, &got)
	if code != 409 || got.Type != "conflict" || !strings.Contains(got.Description, "already being redirected") {
		t.Errorf("HTTP %d %+v, want 409 conflict", code, got)
	}
}
