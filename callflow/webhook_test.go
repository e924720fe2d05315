package callflow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
)

const speakHangup = `<?xml version="1.0" encoding="UTF-8"?><Response><SpeakSentence>hi</SpeakSentence><Hangup/></Response>`

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func gatherEvent() *bxml.GatherEvent {
	ev := &bxml.GatherEvent{Digits: "1", TerminatingDigit: "#"}
	ev.Fill(&bxml.CallInfo{AccountID: "9900000", ApplicationID: "app-1", From: "sip:alice@127.0.0.1", To: "+15551234567",
		Direction: "inbound", CallID: "c-1", CallURL: "http://127.0.0.1/calls/c-1",
		StartTime: time.Now(), AnswerTime: time.Now(), Tag: "menu"})
	return ev
}

// bxmlServer answers every request with body and content type, counting
// hits.
func bxmlServer(t *testing.T, status int, ctype, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// hangingServer never answers: it holds each request until the client
// gives up or the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return srv
}

// deadURL is a loopback URL nobody listens on any more.
func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func newTestWebhook(t *testing.T, opts ...Option) *Webhook {
	w := NewWebhook(append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	t.Cleanup(w.Close)
	return w
}

func TestWebhookPostJSON(t *testing.T) {
	var got map[string]any
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		if r.Method != http.MethodPost || r.URL.Path != "/gather" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode: %v", err)
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		_, _ = io.WriteString(w, speakHangup)
	}))
	defer srv.Close()
	ev := gatherEvent()
	reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: ev, Target: bxml.Target{URL: srv.URL + "/gather"}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Doc == nil || len(reply.Doc.Verbs) != 2 || reply.URL != srv.URL+"/gather" || reply.Fallback {
		t.Errorf("reply = %+v", reply)
	}
	if got["eventType"] != "gather" || got["digits"] != "1" || got["terminatingDigit"] != "#" || got["tag"] != "menu" || got["callId"] != "c-1" {
		t.Errorf("body = %v", got)
	}
	if _, ok := got["eventTime"].(string); !ok {
		t.Errorf("eventTime missing: %v", got)
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("User-Agent") != DefaultUserAgent || hdr.Get("Authorization") != "" {
		t.Errorf("headers = %v", hdr)
	}
}

func TestWebhookGetQuery(t *testing.T) {
	var q map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method %s", r.Method)
		}
		if r.ContentLength > 0 {
			t.Errorf("GET with a body")
		}
		q = r.URL.Query()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, speakHangup)
	}))
	defer srv.Close()
	ev := &bxml.InitiateEvent{Diversion: &bxml.Diversion{Reason: "unavailable", OrigTo: "+15550001111"}}
	ev.Fill(&bxml.CallInfo{CallID: "c-9", From: "+15551112222", To: "+15553334444", Direction: "inbound", StartTime: time.Now()})
	_, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: ev, Target: bxml.Target{URL: srv.URL + "/initiate?app=x", Method: "GET"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"eventType": "initiate", "callId": "c-9", "from": "+15551112222", "direction": "inbound",
		"diversion.reason": "unavailable", "diversion.origTo": "+15550001111", "app": "x"}
	for k, v := range want {
		if got := strings.Join(q[k], ","); got != v {
			t.Errorf("query %s = %q, want %q (all: %v)", k, got, v, q)
		}
	}
	if _, ok := q["startTime"]; !ok {
		t.Errorf("startTime missing: %v", q)
	}
}

func TestWebhookBasicAuthAndFallbackCredentials(t *testing.T) {
	type creds struct{ user, pass string }
	seen := make(chan creds, 2)
	auth := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u, p, _ := r.BasicAuth()
			seen <- creds{u, p}
			w.WriteHeader(status)
		}
	}
	primary := httptest.NewServer(auth(http.StatusServiceUnavailable))
	defer primary.Close()
	fallback := httptest.NewServer(auth(http.StatusNoContent))
	defer fallback.Close()
	reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{
		URL: primary.URL, Username: "user", Password: "pa:ss",
		FallbackURL: fallback.URL, FallbackUsername: "fbuser", FallbackPassword: "fbpass"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Fallback || reply.Doc != nil || reply.URL != fallback.URL {
		t.Errorf("reply = %+v", reply)
	}
	if c := <-seen; c != (creds{"user", "pa:ss"}) {
		t.Errorf("primary credentials = %+v", c)
	}
	if c := <-seen; c != (creds{"fbuser", "fbpass"}) {
		t.Errorf("fallback credentials = %+v", c)
	}
}

func TestWebhookPrimaryDownFallbackUsed(t *testing.T) {
	fallback, hits := bxmlServer(t, http.StatusOK, "application/xml", speakHangup)
	reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(),
		Target: bxml.Target{URL: deadURL(t) + "/gather", FallbackURL: fallback.URL + "/fb"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Fallback || reply.Doc == nil || hits.Load() != 1 {
		t.Errorf("reply = %+v, fallback hits %d", reply, hits.Load())
	}
}

func TestWebhookPrimaryTimeoutFallbackUsed(t *testing.T) {
	slow := hangingServer(t)
	fallback, _ := bxmlServer(t, http.StatusOK, "application/xml", speakHangup)
	reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(),
		Target: bxml.Target{URL: slow.URL, FallbackURL: fallback.URL, Timeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Fallback || reply.Doc == nil {
		t.Errorf("reply = %+v", reply)
	}
}

func TestWebhookBothDown(t *testing.T) {
	primary, _ := bxmlServer(t, http.StatusInternalServerError, "", "boom")
	dead := deadURL(t)
	_, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(),
		Target: bxml.Target{URL: primary.URL + "/g", FallbackURL: dead + "/fb"}})
	if !errors.Is(err, ErrCallback) || errors.Is(err, ErrInvalidBXML) {
		t.Fatalf("err = %v", err)
	}
	if Cause(err) != bxml.CauseCallbackError {
		t.Errorf("Cause = %q", Cause(err))
	}
	var ce *CallbackError
	if !errors.As(err, &ce) || len(ce.Attempts) != 2 || ce.Attempts[0].Status != 500 || ce.Event != bxml.EventGather {
		t.Fatalf("CallbackError = %+v", ce)
	}
	msg := err.Error()
	if !strings.Contains(msg, primary.URL+"/g: status 500") || !strings.Contains(msg, "fallback "+dead+"/fb") {
		t.Errorf("message = %q", msg)
	}
}

func TestWebhookTimeoutWithoutFallback(t *testing.T) {
	slow := hangingServer(t)
	_, err := newTestWebhook(t, WithTimeout(150*time.Millisecond)).Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: slow.URL}})
	if !errors.Is(err, ErrCallback) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestWebhookBadResponses(t *testing.T) {
	big := "<Response>" + strings.Repeat("<Pause/>", 20000) + "</Response>"
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		opts    []Option
		want    string
		parseEr bool // the parser (not the transport) rejected it
	}{
		{"oversize", 200, "application/xml", big, []Option{WithMaxResponseBytes(64 << 10)}, "response body larger than 65536 bytes", false},
		{"over BXML limit", 200, "application/xml", big, nil, "document is", true},
		{"json", 200, "application/json", `{"verbs":[]}`, nil, `response Content-Type "application/json" is not XML`, false},
		{"html", 200, "text/html", `<html></html>`, nil, `"text/html" is not XML`, false},
		{"typo", 200, "application/xml", "<Response>\n<SpeakSentense>hi</SpeakSentense></Response>", nil,
			"unknown verb SpeakSentense (did you mean SpeakSentence?) (line 2)", true},
		{"not xml", 200, "text/plain", "hello", nil, "text outside the root element (line 1)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := bxmlServer(t, tc.status, tc.ctype, tc.body)
			fallback, fbHits := bxmlServer(t, 200, "application/xml", speakHangup)
			_, err := newTestWebhook(t, tc.opts...).Fetch(testCtx(t), Request{Event: gatherEvent(),
				Target: bxml.Target{URL: srv.URL, FallbackURL: fallback.URL}})
			if !errors.Is(err, ErrInvalidBXML) || errors.Is(err, ErrCallback) {
				t.Fatalf("err = %v", err)
			}
			if Cause(err) != bxml.CauseInvalidBXML {
				t.Errorf("Cause = %q", Cause(err))
			}
			if errors.Is(err, bxml.ErrInvalid) != tc.parseEr {
				t.Errorf("errors.Is(bxml.ErrInvalid) = %v", !tc.parseEr)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("message %q does not contain %q", err.Error(), tc.want)
			}
			if fbHits.Load() != 0 {
				t.Errorf("fallback called for a response that arrived")
			}
		})
	}
}

func TestWebhookEmptyBodyMeansNoBXML(t *testing.T) {
	for _, status := range []int{200, 204} {
		srv, _ := bxmlServer(t, status, "", "")
		reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: srv.URL}})
		if err != nil || reply.Doc != nil {
			t.Errorf("status %d: %+v %v", status, reply, err)
		}
	}
}

func TestWebhookIgnoredResponse(t *testing.T) {
	srv, hits := bxmlServer(t, 200, "text/html", "<html>not BXML at all</html>")
	ev := &bxml.DisconnectEvent{Cause: bxml.CauseHangup}
	ev.Fill(&bxml.CallInfo{CallID: "c-1", StartTime: time.Now(), EndTime: time.Now()})
	reply, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: ev, Target: bxml.Target{URL: srv.URL}})
	if err != nil || reply.Doc != nil || hits.Load() != 1 {
		t.Errorf("reply %+v, err %v, hits %d", reply, err, hits.Load())
	}
}

func TestWebhookRelativeURL(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.WriteHeader(204)
	}))
	defer srv.Close()
	wh := newTestWebhook(t)
	reply, err := wh.Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: "/onGather"}, Base: srv.URL + "/app/answer"})
	if err != nil || path != "/onGather" || reply.URL != srv.URL+"/onGather" {
		t.Errorf("path %q reply %+v err %v", path, reply, err)
	}
	if _, err = wh.Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: "next"}, Base: srv.URL + "/app/answer"}); err != nil || path != "/app/next" {
		t.Errorf("path %q err %v", path, err)
	}
	_, err = wh.Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: "/onGather"}})
	if !errors.Is(err, ErrCallback) || !strings.Contains(err.Error(), "no base URL") {
		t.Errorf("err = %v", err)
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	target, hits := bxmlServer(t, 200, "application/xml", speakHangup)
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redir.Close()
	_, err := newTestWebhook(t).Fetch(testCtx(t), Request{Event: gatherEvent(), Target: bxml.Target{URL: redir.URL}})
	if !errors.Is(err, ErrCallback) || hits.Load() != 0 {
		t.Errorf("err %v, redirect target hits %d", err, hits.Load())
	}
}

func TestWebhookCallEnded(t *testing.T) {
	slow := hangingServer(t)
	fallback, fbHits := bxmlServer(t, 200, "application/xml", speakHangup)
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := newTestWebhook(t).Fetch(ctx, Request{Event: gatherEvent(), Target: bxml.Target{URL: slow.URL, FallbackURL: fallback.URL}})
	if !errors.Is(err, context.Canceled) || fbHits.Load() != 0 {
		t.Errorf("err %v, fallback hits %d", err, fbHits.Load())
	}
}

func TestCause(t *testing.T) {
	if Cause(nil) != "" || Cause(errors.New("x")) != bxml.CauseApplicationError {
		t.Error("Cause of nil / plain error")
	}
	_, err := bxml.Parse([]byte("<Response><Gathr/></Response>"))
	if Cause(err) != bxml.CauseInvalidBXML {
		t.Errorf("Cause(bxml error) = %q", Cause(err))
	}
}

func BenchmarkWebhookRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, speakHangup)
	}))
	defer srv.Close()
	wh := NewWebhook(WithLogger(slog.New(slog.DiscardHandler)))
	defer wh.Close()
	ctx := context.Background()
	target := bxml.Target{URL: srv.URL + "/gather"}
	b.ReportAllocs()
	for b.Loop() {
		reply, err := wh.Fetch(ctx, Request{Event: gatherEvent(), Target: target})
		if err != nil || reply.Doc == nil {
			b.Fatal(err)
		}
	}
}
