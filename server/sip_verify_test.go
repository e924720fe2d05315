package server

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sip"
)

// speechFrames counts the PCMU frames the phone heard that are not silence
// (nor its own).
func speechFrames(p *phone) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for b, c := range p.got {
		if b != 0xff && b != 0x7f && b != p.marker {
			n += c
		}
	}
	return n
}

// waitSpeech waits until the phone has heard ten frames of speech more than
// since (an earlier speechFrames): a prompt plays, so the Gather around it
// runs.
func waitSpeech(t *testing.T, p *phone, since int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); speechFrames(p) < since+10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the phone heard no prompt")
		}
	}
}

type verification struct {
	Status   string  `json:"status"`
	Method   *string `json:"method"`
	CallID   *string `json:"call_id"`
	Reason   *string `json:"reason"`
	Required bool    `json:"verification_required"`
}

// waitVerification polls GET /v1/sip until the number's verification is
// no longer calling.
func waitVerification(t *testing.T, n *node, number string) verification {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var out struct {
			Data struct {
				Verification verification `json:"verification"`
			} `json:"data"`
		}
		code, b := n.rawJSON(t, "GET", "/v1/sip?phone_number="+strings.ReplaceAll(number, "+", "%2B"), "", nil)
		if code != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("GET /v1/sip: %d %s", code, b)
		}
		if out.Data.Verification.Status != "calling" {
			return out.Data.Verification
		}
		if time.Now().After(deadline) {
			t.Fatalf("verification still calling: %s", b)
		}
	}
}

// PUT /v1/sip/verify calls the number through its outbound configuration
// (a Go UAS peer answers), speaks the code (espeak-ng) and gathers it: the
// peer keying a wrong code by RFC 4733 fails the verification, the right
// one verifies the number. With --sip-require-verification, createCall
// from the number is refused until then.
func TestSIPVerify(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	// The callee keys in what it hears; here it is told the code instead
	// (the node's own codes come from crypto/rand).
	var code atomic.Value
	code.Store("135790")
	n := startNode(t, func(c *Config) {
		c.SIPRequireVerification = true
		c.VerifyCodes = func() (string, error) { return code.Load().(string), nil }
	})
	callee := newPhone(t, 'V', true)
	const num = "+14155550100"
	n.attachSIP(t, map[string]any{"phone_number": num,
		"directions": []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:" + callee.addr}}})
	if v := waitVerification(t, n, num); v.Status != "unverified" || !v.Required {
		t.Errorf("before: %+v", v)
	}
	h := newHook(t, func(ev event) string { return `<Response><Hangup/></Response>` })
	appID, _ := n.app(t, map[string]any{})
	createCall := func() (int, []byte) {
		return n.rawJSON(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", "", map[string]any{
			"from": num, "to": num, "applicationId": appID, "answerUrl": h.url("/answer")})
	}
	if code, b := createCall(); code != 400 || !strings.Contains(string(b), "not verified") {
		t.Errorf("createCall from an unverified number: %d %s", code, b)
	}
	// A call to a SIP URI goes to that peer directly, not out through the
	// number's trunk: its caller ID is not checked.
	if code, b := n.rawJSON(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", "", map[string]any{
		"from": num, "to": "sip:nobody@127.0.0.1:9", "applicationId": appID, "answerUrl": h.url("/answer")}); code != 201 {
		t.Errorf("createCall to a SIP URI from an unverified number: %d %s", code, b)
	}
	if code, b := n.rawJSON(t, "PUT", "/v1/sip/verify", "", map[string]any{}); code != 400 || !strings.Contains(string(b), "body.phone_number") {
		t.Errorf("verify without a number: %d %s", code, b)
	}
	if code, b := n.rawJSON(t, "PUT", "/v1/sip/verify", "", map[string]any{"phone_number": "+14155550199"}); code != 400 || !strings.Contains(string(b), "body.phone_number") {
		t.Errorf("verify an unrouted number: %d %s", code, b)
	}

	for i, keyed := range []string{"135791", "246813"} {
		code.Store([]string{"135790", "246813"}[i])
		status, b := n.rawJSON(t, "PUT", "/v1/sip/verify", "", map[string]any{"phone_number": num})
		if status != 200 || !strings.Contains(string(b), `"status":"calling"`) {
			t.Fatalf("verify %d: %d %s", i, status, b)
		}
		if code, b := n.rawJSON(t, "PUT", "/v1/sip/verify", "", map[string]any{"phone_number": num}); code != 409 {
			t.Errorf("a second verification while one calls: %d %s", code, b)
		}
		var in *sip.InboundCall
		select {
		case in = <-callee.calls:
		case <-time.After(30 * time.Second):
			t.Fatal("the callee was not called")
		}
		waitSpeech(t, callee, 0)
		callee.pressDigits(keyed)
		v := waitVerification(t, n, num)
		switch i {
		case 0:
			if v.Status != "failed" || v.Reason == nil || !strings.Contains(*v.Reason, "wrong code") || v.CallID == nil {
				t.Errorf("wrong code: %+v", v)
			}
		case 1:
			if v.Status != "verified" || v.Method == nil || *v.Method != "call" {
				t.Errorf("right code: %+v (%s)", v, *v.Reason)
			}
		}
		// The call says goodbye and hangs up; the next one starts afresh.
		select {
		case <-in.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("the verification call did not end")
		}
		callee.mu.Lock()
		clear(callee.got)
		callee.mu.Unlock()
	}
	if code, b := createCall(); code != 201 {
		t.Fatalf("createCall from the verified number: %d %s", code, b)
	}
	select {
	case in := <-callee.calls: // answered; the application hangs up
		select {
		case <-in.Done():
		case <-time.After(30 * time.Second):
			t.Error("the call from the verified number did not end")
		}
	case <-time.After(30 * time.Second):
		t.Error("the call from the verified number did not reach the callee")
	}
}
