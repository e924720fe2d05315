package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sip"
)

// dialFrom calls uri from the phone with a chosen From and extra headers.
func (p *phone) dialFrom(ctx context.Context, uri, from string, headers ...sip.Header) (*sip.OutboundCall, error) {
	out, err := p.srv.Dial(ctx, sip.DialRequest{URI: uri, From: from, SDP: p.sdp(), Headers: headers})
	if err != nil {
		return nil, err
	}
	p.learnRemote(out.AnswerSDP())
	return out, nil
}

// The IVR example drives real calls with no webhook at all: "1" transfers
// the caller to the SIP URI the key-value store names, "2" records.
func TestExampleIVR(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	n := startWasmNode(t)
	mod := n.module(t, "examples/ivr")
	alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', true)

	t.Run("1 transfers to sales", func(t *testing.T) {
		appID := n.ipApp(t, map[string]any{"moduleId": mod})
		n.kvSet(t, appID, "sales_uri", bob.uri("sales"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		heard := speechFrames(alice)
		call, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		if err != nil {
			t.Fatal(err)
		}
		waitSpeech(t, alice, heard) // the menu's prompt: its Gather runs
		alice.pressDigits("1")
		var bobCall *sip.InboundCall
		select {
		case bobCall = <-bob.calls:
		case <-ctx.Done():
			t.Fatal("sales was never called")
		}
		if !strings.HasPrefix(bobCall.Request.Recipient.String(), "sip:sales@") {
			t.Errorf("transfer went to %s", bobCall.Request.Recipient.String())
		}
		alice.talkWith(bob, 10, 10*time.Second)
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		waitDone(t, bobCall.Done(), "the sales leg")
		rec, log := n.endedCall(t, appID)
		if rec.Variables["choice"] != "sales" || rec.DisconnectCause != "hangup" {
			t.Errorf("call %+v", rec)
		}
		if !logHas(log, "module", "caller chose sales") {
			t.Errorf("module log line missing: %+v", log)
		}
	})
	t.Run("2 records a message", func(t *testing.T) {
		appID := n.ipApp(t, map[string]any{"moduleId": mod})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		heard := speechFrames(alice)
		call, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		if err != nil {
			t.Fatal(err)
		}
		waitSpeech(t, alice, heard) // the menu's prompt: its Gather runs
		alice.pressDigits("2")
		// Speak into the recording for a moment, then hang up.
		for i := 0; i < 50; i++ {
			alice.send(0, i == 0, make([]byte, 160), 160)
			time.Sleep(20 * time.Millisecond)
		}
		call.Hangup(ctx)
		rec, log := n.endedCall(t, appID)
		if rec.Variables["choice"] != "message" {
			t.Errorf("call %+v", rec)
		}
		if !logHas(log, "module", "caller leaves a message") {
			t.Errorf("module log line missing: %+v", log)
		}
	})
}

// The header mapper turns the inbound User-to-User and X-* headers into
// call variables and puts them back on the INVITE the transfer sends: the
// far end sees them.
func TestExampleHeaderMapper(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "examples/headermapper")
	alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', true)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Transfer><SipUri>` + bob.uri("bob") + `</SipUri></Transfer></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleEvents": []string{"sip.inbound", "sip.outbound"},
		"callInitiatedCallbackUrl": h.url("/initiate")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := alice.dialFrom(ctx, "sip:"+appID+"@"+n.sip, "sip:+15550001111@127.0.0.1",
		sip.Header{Name: "User-to-User", Value: "3432;encoding=hex;purpose=bland;content=id"},
		sip.Header{Name: "X-Customer-Id", Value: "cust-9"})
	if err != nil {
		t.Fatal(err)
	}
	var bobCall *sip.InboundCall
	select {
	case bobCall = <-bob.calls:
	case <-ctx.Done():
		t.Fatal("bob was never called")
	}
	var got string
	if h := bobCall.Request.GetHeader("User-to-User"); h != nil {
		got = h.Value()
	}
	if got != "3432;encoding=hex;purpose=bland;content=id" {
		t.Errorf("User-to-User on the outbound INVITE: %q", got)
	}
	xs := map[string]string{}
	for _, x := range bobCall.XHeaders {
		xs[x.Name] = x.Value
	}
	if xs["X-Origin"] != "wasmvoice" || xs["X-Customer-Id"] != "cust-9" {
		t.Errorf("X-* headers on the outbound INVITE: %v", xs)
	}
	call.Hangup(ctx)
	waitDone(t, bobCall.Done(), "bob's leg")
	rec, _ := n.endedCall(t, appID)
	if v := rec.Variables; v["id"] != "42" || v["uui"] != "42" || v["mapper"] != "headermapper/1" || v["hdr.X-Customer-Id"] != "cust-9" {
		t.Errorf("variables %v", v)
	}
}

// The router lets allowed callers in, sends one caller to another
// application, and refuses the rest with its own status.
func TestExampleRouter(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "examples/router")
	alice := newPhone(t, 'A', false)
	h := newHook(t, func(ev event) string { return `<Response><Hangup/></Response>` })
	appA := n.ipApp(t, map[string]any{"moduleId": mod, "moduleEvents": []string{"sip.inbound"}, "callInitiatedCallbackUrl": h.url("/a")})
	appB := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/b")})
	n.kvSet(t, appA, "route:+15550003333", appB)
	n.kvSet(t, appA, "allow:+15550005555", "1")
	dial := func(from string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := alice.dialFrom(ctx, "sip:"+appA+"@"+n.sip, "sip:"+from+"@127.0.0.1")
		if err == nil {
			out.Hangup(ctx)
		}
		return err
	}
	var de *sip.DialError
	if err := dial("+15550004444"); !errors.As(err, &de) || de.Status != 403 || de.Reason != "Caller Not Allowed" {
		t.Errorf("unknown caller: %v", err)
	}
	dial("+15550001111")
	if ev := waitPath(t, h, "/a"); ev.Body["from"] != "+15550001111" {
		t.Errorf("allowed caller: %v", ev.Body)
	}
	dial("+15550003333")
	if ev := waitPath(t, h, "/b"); ev.Body["from"] != "+15550003333" || ev.Body["applicationId"] != appB {
		t.Errorf("routed caller: %v", ev.Body)
	}
	rec, log := n.endedCall(t, appB)
	if rec.Variables["caller"] != "+15550003333" || !logHas(log, "module", "routed from application") {
		t.Errorf("routed call %+v log %+v", rec, log)
	}
}

// Module failures are contained: a spinning module is stopped at its
// deadline and the webhook answers instead; a module growing past its
// memory cap traps and, with no webhook, ends the call with
// application-error; invalid BXML from a module falls back too.
func TestModuleFailures(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/faulty")
	alice := newPhone(t, 'A', false)
	h := newHook(t, func(ev event) string { return `<Response><Hangup/></Response>` })
	dial := func(appID string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", ""); err == nil {
			out.Hangup(ctx)
		}
	}
	for _, tc := range []struct{ mode, logWant string }{
		{"spin", "timed out"},
		{"badbxml", "SpeakSentense"},
		{"fail", "failing on purpose"},
	} {
		t.Run(tc.mode+" falls back", func(t *testing.T) {
			appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleTimeoutMs": 100, "callInitiatedCallbackUrl": h.url("/" + tc.mode)})
			n.kvSet(t, appID, "mode", tc.mode)
			start := time.Now()
			dial(appID)
			waitPath(t, h, "/"+tc.mode)
			t.Logf("%s: webhook answered %v after the INVITE", tc.mode, time.Since(start))
			rec, log := n.endedCall(t, appID)
			if !logHas(log, "module", tc.logWant) || !logHas(log, "module", "falling back") || rec.DisconnectCause != "hangup" {
				t.Errorf("call %+v log %+v", rec, log)
			}
		})
	}
	t.Run("grow without webhook", func(t *testing.T) {
		appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleMemoryPages": 160, "moduleTimeoutMs": 5000})
		n.kvSet(t, appID, "mode", "grow")
		dial(appID)
		rec, log := n.endedCall(t, appID)
		if rec.DisconnectCause != "application-error" || !logHas(log, "module", "memory") {
			t.Errorf("call %+v log %+v", rec, log)
		}
	})
}
