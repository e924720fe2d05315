package callflow

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

func TestEncodeVariables(t *testing.T) {
	got := encodeVariables(map[string]string{"b": "x y", "a": "1&2=3", "ü": "\r\n"})
	if got != "a=1%262%3D3&b=x+y&%C3%BC=%0D%0A" {
		t.Fatalf("encoded %q", got)
	}
	back, err := url.ParseQuery(got)
	if err != nil || back.Get("a") != "1&2=3" || back.Get("ü") != "\r\n" {
		t.Fatalf("decoded %v %v", back, err)
	}
	// What does not fit is left out; the rest still goes.
	big := map[string]string{"a": "small", "b": strings.Repeat("x", maxVariablesBytes), "c": "also"}
	if got := encodeVariables(big); got != "a=small&c=also" {
		t.Fatalf("capped: %q", got)
	}
}

// testCall is a Call with fixed variables and an application.
type testCall struct {
	app  store.Application
	vars map[string]string
	logs []string
}

func (c *testCall) Application() store.Application { return c.app }
func (c *testCall) Variables() map[string]string   { return c.vars }
func (c *testCall) SetVariables(vs map[string]string) {
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	for k, v := range vs {
		c.vars[k] = v
	}
}
func (c *testCall) Logf(level slog.Level, source, format string, args ...any) {
	c.logs = append(c.logs, source+": "+format)
}

// The webhook adds the variables header only to a callback of a call that
// has variables.
func TestWebhookVariablesHeader(t *testing.T) {
	seen := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get(VariablesHeader)
	}))
	defer srv.Close()
	wh := newTestWebhook(t)
	send := func(call Call) string {
		req := Request{Event: &bxml.DisconnectEvent{}, Target: bxml.Target{URL: srv.URL, Method: "POST"}}
		if call != nil {
			req.Call = call
		}
		if _, err := wh.Fetch(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		return <-seen
	}
	if h := send(nil); h != "" {
		t.Fatalf("header without a call: %q", h)
	}
	if h := send(&testCall{}); h != "" {
		t.Fatalf("header for no variables: %q", h)
	}
	if h := send(&testCall{vars: map[string]string{"crm_id": "42"}}); h != "crm_id=42" {
		t.Fatalf("header %q", h)
	}
}
