package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hook is an application's webhook: it records every callback and answers
// with the BXML its answer function returns for the callback's path.
type hook struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	notify chan struct{}
}

func newHook(t *testing.T, answer func(path string, body map[string]any) string) *hook {
	h := &hook{t: t, notify: make(chan struct{}, 1)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		body := map[string]any{}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("callback %s is not JSON: %v: %s", r.URL.Path, err, raw)
		}
		h.mu.Lock()
		h.events = append(h.events, body)
		h.mu.Unlock()
		select {
		case h.notify <- struct{}{}:
		default:
		}
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, answer(r.URL.Path, body))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url(path string) string { return h.srv.URL + path }

// wait returns the first callback of eventType, waiting up to timeout; ok is
// false when none came.
func (h *hook) wait(eventType string, timeout time.Duration) (body map[string]any, ok bool) {
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev["eventType"] == eventType {
				h.mu.Unlock()
				return ev, true
			}
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline:
			return nil, false
		}
	}
}

// all returns every callback of eventType received so far.
func (h *hook) all(eventType string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, ev := range h.events {
		if ev["eventType"] == eventType {
			out = append(out, ev)
		}
	}
	return out
}

// types lists the event types received so far, for failure messages.
func (h *hook) types() []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []any
	for _, ev := range h.events {
		out = append(out, ev["eventType"])
	}
	return out
}
