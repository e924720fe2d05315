package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestEncodeCallbackVariables(t *testing.T) {
	got := encodeCallbackVariables(map[string]string{"b": "x y", "a": "1&2=3", "ü": "\r\n"})
	if got != "a=1%262%3D3&b=x+y&%C3%BC=%0D%0A" {
		t.Fatalf("encoded %q", got)
	}
	back, err := url.ParseQuery(got)
	if err != nil || back.Get("a") != "1&2=3" || back.Get("ü") != "\r\n" {
		t.Fatalf("decoded %v %v", back, err)
	}
	// What does not fit is left out; the rest still goes.
	big := map[string]string{"a": "small", "b": strings.Repeat("x", maxCallbackVariablesBytes), "c": "also"}
	if got := encodeCallbackVariables(big); got != "a=small&c=also" {
		t.Fatalf("capped: %q", got)
	}
}

// The transport adds the header only under a context carrying variables,
// and never changes the caller's request.
func TestCallbackVarsTransport(t *testing.T) {
	seen := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get(callbackVariablesHeader)
	}))
	defer srv.Close()
	c := newCallbackClient()
	send := func(ctx context.Context) (*http.Request, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return req, <-seen
	}
	if _, h := send(context.Background()); h != "" {
		t.Fatalf("header without variables: %q", h)
	}
	if _, h := send(withCallVariables(context.Background(), func() map[string]string { return nil })); h != "" {
		t.Fatalf("header for no variables: %q", h)
	}
	req, h := send(withCallVariables(context.Background(), func() map[string]string { return map[string]string{"crm_id": "42"} }))
	if h != "crm_id=42" || req.Header.Get(callbackVariablesHeader) != "" {
		t.Fatalf("header %q; caller's request changed: %v", h, req.Header)
	}
}
