package callflow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// loopCall is a scripted call leg: it "presses" digits while a prompt
// plays and reports a fixed transfer result.
type loopCall struct {
	mu      sync.Mutex
	tag     string
	spoken  []string
	digits  chan byte
	pressOn string // prompt text during which keys are pressed
	keys    string
}

func (c *loopCall) Answer(context.Context) error { return nil }
func (c *loopCall) Speak(_ context.Context, s *bxml.SpeakSentence) error {
	c.mu.Lock()
	c.spoken = append(c.spoken, s.PlainText())
	c.mu.Unlock()
	if s.PlainText() == c.pressOn {
		for i := range len(c.keys) {
			c.digits <- c.keys[i]
		}
	}
	return nil
}
func (c *loopCall) Play(context.Context, *bxml.PlayAudio) error { return nil }
func (c *loopCall) Ring(context.Context, time.Duration) error   { return nil }
func (c *loopCall) SendDTMF(context.Context, string, time.Duration, time.Duration) error {
	return nil
}
func (c *loopCall) ReadDigit(ctx context.Context) (byte, error) {
	select {
	case d := <-c.digits:
		return d, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
func (c *loopCall) DiscardDigits()                                       {}
func (c *loopCall) StartGather(context.Context, *bxml.StartGather) error { return nil }
func (c *loopCall) StopGather(context.Context) error                     { return nil }
func (c *loopCall) Record(context.Context, *bxml.Record) (bxml.Recording, error) {
	return bxml.Recording{}, nil
}
func (c *loopCall) StartRecording(context.Context, *bxml.StartRecording) error { return nil }
func (c *loopCall) StopRecording(context.Context) error                        { return nil }
func (c *loopCall) PauseRecording(context.Context) error                       { return nil }
func (c *loopCall) ResumeRecording(context.Context) error                      { return nil }
func (c *loopCall) Transfer(_ context.Context, t *bxml.Transfer) (bxml.TransferResult, error) {
	return bxml.TransferResult{Cause: bxml.CauseHangup, TransferCallerID: "+15551110000", TransferTo: t.Targets[0].Address()}, nil
}
func (c *loopCall) Bridge(context.Context, *bxml.Bridge) (bxml.BridgeResult, error) {
	return bxml.BridgeResult{}, nil
}
func (c *loopCall) Forward(context.Context, *bxml.Forward) error { return nil }
func (c *loopCall) SetTag(tag string) {
	c.mu.Lock()
	c.tag = tag
	c.mu.Unlock()
}

func (c *loopCall) info() *bxml.CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &bxml.CallInfo{AccountID: "9900000", ApplicationID: "app-1", From: "sip:alice@127.0.0.1", To: "app-1",
		Direction: "inbound", CallID: "c-loop", CallURL: "http://127.0.0.1/calls/c-loop",
		StartTime: time.Now(), AnswerTime: time.Now(), Tag: c.tag}
}

// TestLoopIVRToTransfer runs the flow against a webhook backend:
// initiate → SpeakSentence + Gather, the caller presses 1#, the gather
// callback (to a relative URL) gets digits "1" and answers a Transfer,
// whose transferComplete answers Hangup.
func TestLoopIVRToTransfer(t *testing.T) {
	var mu sync.Mutex
	events := map[string]map[string]any{}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		mu.Lock()
		events[r.URL.Path] = ev
		mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		switch r.URL.Path {
		case "/app/initiate":
			_, _ = io.WriteString(w, `<Response><SpeakSentence>Welcome</SpeakSentence>
				<Gather gatherUrl="gather" terminatingDigits="#"><SpeakSentence>Press 1</SpeakSentence></Gather>
				<SpeakSentence>not reached</SpeakSentence></Response>`)
		case "/app/gather":
			_, _ = io.WriteString(w, `<Response><Tag>xfer</Tag><Transfer transferCompleteUrl="/app/done"><SipUri>sip:bob@127.0.0.1:5070</SipUri></Transfer></Response>`)
		case "/app/done":
			_, _ = io.WriteString(w, `<Response><Hangup/></Response>`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer app.Close()

	call := &loopCall{digits: make(chan byte, 8), pressOn: "Press 1", keys: "1#"}
	var bases []string
	loop := &Loop{
		Source:     newTestWebhook(t),
		Call:       call,
		Info:       call.info,
		OnDocument: func(_ *bxml.Document, url string) { bases = append(bases, url) },
	}
	out, err := loop.Run(testCtx(t), Request{Event: &bxml.InitiateEvent{}, Target: bxml.Target{URL: app.URL + "/app/initiate"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Kind != bxml.OutcomeHangup {
		t.Errorf("outcome = %+v", out)
	}
	if len(call.spoken) != 2 || call.spoken[1] != "Press 1" {
		t.Errorf("spoken = %q", call.spoken)
	}
	if len(bases) != 3 || bases[1] != app.URL+"/app/gather" {
		t.Errorf("document URLs = %q", bases)
	}
	g := events["/app/gather"]
	if g["eventType"] != "gather" || g["digits"] != "1" || g["terminatingDigit"] != "#" || g["callId"] != "c-loop" {
		t.Errorf("gather event = %v", g)
	}
	if _, hasTag := g["tag"]; hasTag {
		t.Errorf("gather event has a tag before any was set: %v", g)
	}
	d := events["/app/done"]
	if d["eventType"] != "transferComplete" || d["cause"] != "hangup" || d["tag"] != "xfer" ||
		d["transferTo"] != "sip:bob@127.0.0.1:5070" || d["transferCallerId"] != "+15551110000" {
		t.Errorf("transferComplete event = %v", d)
	}
	if i := events["/app/initiate"]; i["eventType"] != "initiate" || i["from"] != "sip:alice@127.0.0.1" {
		t.Errorf("initiate event = %v", i)
	}
}

func TestLoopErrors(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		switch r.URL.Path {
		case "/typo":
			_, _ = io.WriteString(w, `<Response><Gathr/></Response>`)
		case "/unsupported":
			_, _ = io.WriteString(w, `<Response><Conference>room</Conference></Response>`)
		case "/empty":
		default:
			w.WriteHeader(500)
		}
	}))
	defer app.Close()
	tests := []struct {
		path  string
		cause string
		kind  outcomeCheck
	}{
		{"/typo", bxml.CauseInvalidBXML, nil},
		{"/unsupported", bxml.CauseInvalidBXML, nil},
		{"/down", bxml.CauseCallbackError, nil},
		{"/empty", "", func(o bxml.Outcome) bool { return o.Kind == bxml.OutcomeEnd }},
	}
	for _, tc := range tests {
		call := &loopCall{digits: make(chan byte, 1)}
		loop := &Loop{Source: newTestWebhook(t), Call: call, Info: call.info}
		out, err := loop.Run(testCtx(t), Request{Event: &bxml.InitiateEvent{}, Target: bxml.Target{URL: app.URL + tc.path}})
		if got := Cause(err); got != tc.cause {
			t.Errorf("%s: Cause(%v) = %q, want %q", tc.path, err, got, tc.cause)
		}
		if tc.kind != nil && !tc.kind(out) {
			t.Errorf("%s: outcome %+v", tc.path, out)
		}
		if tc.path == "/unsupported" && (err == nil || !errors.Is(err, bxml.ErrUnsupported)) {
			t.Errorf("unsupported: %v", err)
		}
	}
}

// outcomeCheck checks a Loop outcome in table tests.
type outcomeCheck func(bxml.Outcome) bool
