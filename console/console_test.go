package console

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/events"
)

func newTestConsole(t *testing.T) (*httptest.Server, *events.Hub) {
	t.Helper()
	hub := events.New(events.Limits{PerAccount: 1}, slog.New(slog.DiscardHandler))
	c := New(Config{
		Events: hub,
		Auth: func(r *http.Request) (string, int, string) {
			if r.Header.Get("Authorization") != "Bearer ok" {
				return "", http.StatusUnauthorized, "sign in"
			}
			return "acct", 0, ""
		},
		Node: func(context.Context, string) Node {
			return Node{Version: "v-test", Ready: true, Listeners: []string{"sip udp 127.0.0.1:5060"}}
		},
		Logger:    slog.New(slog.DiscardHandler),
		Heartbeat: 50 * time.Millisecond,
	})
	mux := http.NewServeMux()
	c.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return srv, hub
}

func TestAssets(t *testing.T) {
	srv, _ := newTestConsole(t)
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", "/console/assets/app.js"},
		{"/console/assets/app.js", "text/javascript", "import"},
		{"/console/assets/style.css", "text/css", "--accent"},
		{"/console/assets/LICENSE.txt", "text/plain", "licence"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 1<<20)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body[:n]), c.contains) {
			t.Errorf("%s: %d %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", c.path, csp)
		}
		// A revalidation costs a 304.
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: %d", c.path, r2.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/console/assets/nope.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown asset: %d", resp.StatusCode)
	}
}

// TestEvents: the stream needs authentication, starts with the node's
// health and the recent debugger entries, then carries what is published;
// the per-account cap refuses a second stream; closing the hub ends it.
func TestEvents(t *testing.T) {
	srv, hub := newTestConsole(t)
	resp, err := http.Get(srv.URL + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated: %d", resp.StatusCode)
	}

	hub.Debug("acct", events.Debug{Kind: events.DebugRefused, Status: 407, Reason: "bad_credentials"})
	hub.Debug("other", events.Debug{Kind: events.DebugRefused, Status: 403})
	req, _ := http.NewRequest("GET", srv.URL+"/console/events", nil)
	req.Header.Set("Authorization", "Bearer ok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended waiting for %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q", prefix)
			}
		}
	}
	if l := next("data: "); !strings.Contains(l, `"version":"v-test"`) {
		t.Fatalf("first event: %s", l)
	}
	if l := next("data: "); !strings.Contains(l, `"status":407`) {
		t.Fatalf("recent entry: %s", l)
	}
	next("event: ready")
	next("data: {}")

	r2, err := http.DefaultClient.Do(req.Clone(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second stream of the account: %d", r2.StatusCode)
	}

	hub.Publish("acct", events.KindCall, map[string]string{"callId": "c-1", "state": "answered"})
	l := next("data: ")
	for strings.Contains(l, `"version":"v-test"`) { // heartbeats may come first
		l = next("data: ")
	}
	if !strings.Contains(l, `"callId":"c-1"`) {
		t.Fatalf("call event: %s", l)
	}
	next("event: node") // the heartbeat
	hub.Close()
	for range lines { // the stream ends
	}
}
