package server

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sip"
)

func (n *node) ipApp(t *testing.T, fields map[string]any) string {
	fields["inboundSipCallsEnabled"] = true
	fields["allowedSourceIps"] = []string{"0.0.0.0/0"}
	id, _ := n.app(t, fields)
	return id
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not end", what)
	}
}

// Alice calls the application, whose BXML transfers her to Bob: both hear
// each other through the relay; Alice hangs up and both legs end.
func TestTransferBridgesAudioBothWays(t *testing.T) {
	n := startNode(t)
	alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', true)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Transfer><SipUri transferDisconnectUrl="/td">` + bob.uri("bob") + `</SipUri></Transfer></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var bobCall *sip.InboundCall
	select {
	case bobCall = <-bob.calls:
	case <-ctx.Done():
		t.Fatal("bob was never called")
	}
	alice.talkWith(bob, 25, 10*time.Second)
	if a, b := alice.heard('B'), bob.heard('A'); a < 25 || b < 25 {
		t.Fatalf("alice heard %d of bob's frames, bob heard %d of alice's", a, b)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, bobCall.Done(), "bob's leg")
	disc := h.wait("disconnect", 10*time.Second)
	td := h.wait("transferDisconnect", 10*time.Second)
	if disc.Body["cause"] != "hangup" || td.Body["parentCallId"] != disc.Body["callId"] {
		t.Errorf("disconnect %v / transferDisconnect %v", disc.Body, td.Body)
	}
	checkSchema(t, disc)
	checkSchema(t, td)
}

// createCall to a sip: URI: Bob answers, the answer callback's Gather gets
// his 1#, the gather callback transfers him to Carol; they talk; Carol hangs
// up; transferComplete's BXML hangs Bob up.
func TestCreateCallGatherTransfer(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	n := startNode(t)
	bob, carol := newPhone(t, 'B', true), newPhone(t, 'C', true)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/answer":
			return `<Response><Gather gatherUrl="/gather" terminatingDigits="#" firstDigitTimeout="15"><SpeakSentence>Hello.</SpeakSentence></Gather></Response>`
		case "/gather":
			return `<Response><Transfer transferCompleteUrl="/complete"><SipUri>` + carol.uri("carol") + `</SipUri></Transfer></Response>`
		case "/complete":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	appID, _ := n.app(t, map[string]any{})
	var created struct {
		CallID  string `json:"callId"`
		CallURL string `json:"callUrl"`
		Tag     string `json:"tag"`
	}
	code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550003333", "to": bob.uri("bob"), "applicationId": appID, "tag": "campaign-7",
		"answerUrl": h.url("/answer"), "disconnectUrl": h.url("/disconnect"),
	}, &created)
	if code != 201 || !strings.HasPrefix(created.CallID, "c-") || !strings.HasSuffix(created.CallURL, "/calls/"+created.CallID) {
		t.Fatalf("createCall: %d %+v", code, created)
	}
	var bobCall *sip.InboundCall
	select {
	case bobCall = <-bob.calls:
	case <-time.After(10 * time.Second):
		t.Fatal("bob was never called")
	}
	answer := h.wait("answer", 10*time.Second)
	if answer.Body["callId"] != created.CallID || answer.Body["direction"] != "outbound" || answer.Body["tag"] != "campaign-7" {
		t.Errorf("answer: %v", answer.Body)
	}
	waitSpeech(t, bob, 0) // the Gather's prompt plays: it listens
	bob.pressDigits("1#")
	gather := h.wait("gather", 10*time.Second)
	if gather.Body["digits"] != "1" || gather.Body["terminatingDigit"] != "#" {
		t.Errorf("gather: %v", gather.Body)
	}
	var carolCall *sip.InboundCall
	select {
	case carolCall = <-carol.calls:
	case <-time.After(10 * time.Second):
		t.Fatal("carol was never called")
	}
	bob.talkWith(carol, 25, 10*time.Second)
	if b, c := bob.heard('C'), carol.heard('B'); b < 25 || c < 25 {
		t.Fatalf("bob heard %d of carol's frames, carol heard %d of bob's", b, c)
	}
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := carolCall.Hangup(hctx); err != nil {
		t.Fatal(err)
	}
	complete := h.wait("transferComplete", 10*time.Second)
	if complete.Body["cause"] != "hangup" || complete.Body["callId"] != created.CallID {
		t.Errorf("transferComplete: %v", complete.Body)
	}
	waitDone(t, bobCall.Done(), "bob's call")
	disc := h.wait("disconnect", 10*time.Second)
	if disc.Path != "/disconnect" || disc.Body["cause"] != "hangup" || disc.Body["tag"] != "campaign-7" {
		t.Errorf("disconnect: %s %v", disc.Path, disc.Body)
	}
	for _, ev := range []event{answer, gather, complete, disc} {
		checkSchema(t, ev)
	}
}

func TestWebhookFailures(t *testing.T) {
	n := startNode(t)
	caller := newPhone(t, 'X', false)
	down := newHook(t, nil)
	down.srv.Close() // a URL nobody answers
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/fallback":
			return `<Response><Hangup/></Response>`
		case "/typo":
			return `<Response><SpeakSentense>hi</SpeakSentense></Response>`
		}
		return ""
	})
	dial := func(appID string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := caller.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		var de *sip.DialError
		if err == nil {
			out.Hangup(ctx)
			t.Fatalf("call to %s was answered", appID)
		}
		if !errors.As(err, &de) {
			t.Fatalf("call to %s: %v", appID, err)
		}
	}
	t.Run("fallback used", func(t *testing.T) {
		id := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": down.url("/initiate"), "callInitiatedFallbackUrl": h.url("/fallback"), "callStatusCallbackUrl": h.url("/status-fb")})
		dial(id)
		ev := h.wait("initiate", 10*time.Second)
		if ev.Path != "/fallback" {
			t.Errorf("initiate went to %s", ev.Path)
		}
		if d := waitPath(t, h, "/status-fb"); d.Body["cause"] != "hangup" {
			t.Errorf("disconnect: %v", d.Body)
		}
	})
	t.Run("both down", func(t *testing.T) {
		id := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": down.url("/initiate"), "callInitiatedFallbackUrl": down.url("/fallback"), "callStatusCallbackUrl": h.url("/status-down")})
		dial(id)
		d := waitPath(t, h, "/status-down")
		if d.Body["cause"] != "callback-error" || d.Body["errorMessage"] == nil {
			t.Errorf("disconnect: %v", d.Body)
		}
		checkSchema(t, d)
	})
	t.Run("BXML typo", func(t *testing.T) {
		id := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/typo"), "callStatusCallbackUrl": h.url("/status-typo")})
		dial(id)
		d := waitPath(t, h, "/status-typo")
		msg, _ := d.Body["errorMessage"].(string)
		if d.Body["cause"] != "invalid-bxml" || !strings.Contains(msg, "SpeakSentense") {
			t.Errorf("disconnect: %v", d.Body)
		}
	})
}

func waitPath(t *testing.T, h *hook, path string) event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Path == path {
				h.mu.Unlock()
				return ev
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no callback to %s; got %v", path, h.types())
	return event{}
}

// 100 calls in a row leave no goroutine, port or live call behind.
func TestNoLeaksAfter100Calls(t *testing.T) {
	if testing.Short() {
		t.Skip("100 calls")
	}
	n := startNode(t)
	caller := newPhone(t, 'L', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Pause duration="0.05"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	call := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := caller.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, out.Done(), "call")
	}
	call() // warm up pools and connections
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 100 {
		call()
	}
	var g int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		g = runtime.NumGoroutine()
		if g <= base+5 && n.srv.media.Pool().InUse() == 0 && len(n.srv.engine.LiveCalls(n.creds.AccountID)) == 0 {
			break
		}
	}
	if g > base+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after 100 calls\n%s", base, g, buf[:runtime.Stack(buf, true)])
	}
	if in := n.srv.media.Pool().InUse(); in != 0 {
		t.Fatalf("%d RTP ports still in use", in)
	}
	var calls []map[string]any
	n.call(t, http.MethodGet, "/api/v2/accounts/"+n.creds.AccountID+"/calls?pageSize=200", nil, &calls)
	if len(calls) != 101 {
		t.Fatalf("listCalls: %d calls, want 101", len(calls))
	}
}
