package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

func (n *node) voice(path string) string { return "/api/v2/accounts/" + n.creds.AccountID + path }

// dialApp calls the application from a phone and returns the answered leg.
func dialApp(t *testing.T, n *node, p *phone, appID string) *sip.OutboundCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := p.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Record's recordComplete callback, then the recording through the API:
// listed, described, downloaded as WAV, deleted.
func TestRecordAndRecordingsAPI(t *testing.T) { recordAndRecordingsAPI(t, startNode(t)) }

// The same call flow on a node whose store is PostgreSQL: the application
// made through the API, the call's journal, record and recording written
// and read back there.
func TestRecordAndRecordingsAPIOnPostgres(t *testing.T) {
	n := startNode(t, func(c *Config) { c.DatabaseURL = testenv.PostgresURL(t) })
	if got := n.srv.store.Engine(); got != store.Postgres {
		t.Fatalf("node store: %v, want PostgreSQL", got)
	}
	callID := recordAndRecordingsAPI(t, n)
	var call map[string]any
	if code := n.call(t, "GET", n.voice("/calls/"+callID), nil, &call); code != 200 || call["callId"] != callID {
		t.Fatalf("getCallState on PostgreSQL: %d %v", code, call)
	}
}

// recordAndRecordingsAPI runs the flow and returns the call's ID.
func recordAndRecordingsAPI(t *testing.T, n *node) string {
	t.Helper()
	caller := newPhone(t, 'R', false)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Record recordCompleteUrl="/complete" recordingAvailableUrl="/available" maxDuration="1"/></Response>`
		case "/complete":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	testenv.Go(t, func(ctx context.Context) error { // speak into the recording
		caller.talkUntil(ctx, caller, 1<<30, 1500*time.Millisecond)
		return nil
	})
	complete := h.wait("recordComplete", 15*time.Second)
	waitDone(t, out.Done(), "call")
	avail := h.wait("recordingAvailable", 10*time.Second)
	checkSchema(t, complete)
	checkSchema(t, avail)
	callID := complete.Body["callId"].(string)
	recID, _ := complete.Body["recordingId"].(string)
	if recID == "" || complete.Body["fileFormat"] != "wav" || complete.Body["channels"] != float64(1) || avail.Body["status"] != "complete" {
		t.Fatalf("recordComplete %v / recordingAvailable %v", complete.Body, avail.Body)
	}
	var list []map[string]any
	if code := n.call(t, "GET", n.voice("/calls/"+callID+"/recordings"), nil, &list); code != 200 || len(list) != 1 || list[0]["recordingId"] != recID {
		t.Fatalf("listCallRecordings: %d %v", code, list)
	}
	if !strings.HasPrefix(list[0]["duration"].(string), "PT") || list[0]["mediaUrl"] != complete.Body["mediaUrl"] {
		t.Errorf("recording metadata: %v", list[0])
	}
	// Download with HTTP Basic client credentials, as Voice API clients do.
	req, _ := http.NewRequest("GET", n.api+n.voice("/calls/"+callID+"/recordings/"+recID+"/media"), nil)
	req.SetBasicAuth(n.creds.ClientID, n.creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// One second of 8 kHz 16-bit mono plus the 44-byte header.
	if resp.StatusCode != 200 || string(wav[:4]) != "RIFF" || len(wav) != 44+16000 {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(wav))
	}
	if code := n.call(t, "DELETE", n.voice("/calls/"+callID+"/recordings/"+recID), nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := n.call(t, "GET", n.voice("/calls/"+callID+"/recordings/"+recID+"/media"), nil, nil); code != 404 {
		t.Fatalf("download after delete: %d", code)
	}
	return callID
}

// updateCall: redirectUrl interrupts the running BXML with what the
// redirect callback answers; PUT bxml replaces it; state completed hangs up.
func TestUpdateCallRedirectReplaceAndComplete(t *testing.T) {
	n := startNode(t)
	caller := newPhone(t, 'U', false)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Pause duration="60"/></Response>`
		case "/redirect":
			return `<Response><Tag>redirected</Tag><Pause duration="60"/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	callID := h.wait("initiate", 5*time.Second).Body["callId"].(string)

	var state CallStateJSON
	for deadline := time.Now().Add(5 * time.Second); state.State != "answered" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n.call(t, "GET", n.voice("/calls/"+callID), nil, &state)
	}
	if state.State != "answered" || state.Direction != "inbound" || state.AnswerTime == "" {
		t.Fatalf("live state: %+v", state)
	}
	if code := n.call(t, "POST", n.voice("/calls/"+callID), map[string]any{"redirectUrl": h.url("/redirect")}, nil); code != 200 {
		t.Fatalf("redirect: %d", code)
	}
	red := h.wait("redirect", 5*time.Second)
	checkSchema(t, red)
	bxml := `<?xml version="1.0" encoding="UTF-8"?><Bxml><Pause duration="60"/></Bxml>`
	req, _ := http.NewRequest("PUT", n.api+n.voice("/calls/"+callID+"/bxml"), strings.NewReader(bxml))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+n.token)
	if code := doJSON(t, req, nil); code != 204 {
		t.Fatalf("PUT bxml: %d", code)
	}
	req, _ = http.NewRequest("PUT", n.api+n.voice("/calls/"+callID+"/bxml"), strings.NewReader(`<Bxml><Paws/></Bxml>`))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+n.token)
	if code := doJSON(t, req, nil); code != 400 {
		t.Fatalf("PUT invalid bxml: %d", code)
	}
	// updateCall with a tag alone replaces the tag of later callbacks.
	if code := n.call(t, "POST", n.voice("/calls/"+callID), map[string]any{"tag": "by-api"}, nil); code != 200 {
		t.Fatalf("tag: %d", code)
	}
	if code := n.call(t, "POST", n.voice("/calls/"+callID), map[string]any{"state": "completed"}, nil); code != 200 {
		t.Fatalf("complete: %d", code)
	}
	waitDone(t, out.Done(), "call")
	disc := waitPath(t, h, "/status")
	if disc.Body["cause"] != "hangup" || disc.Body["tag"] != "by-api" {
		t.Errorf("disconnect: %v", disc.Body)
	}
	if code := n.call(t, "POST", n.voice("/calls/"+callID), map[string]any{"state": "completed"}, nil); code != 404 {
		t.Errorf("update of an ended call: %d", code)
	}
	if code := n.call(t, "GET", n.voice("/calls/c-unknown"), nil, nil); code != 404 {
		t.Errorf("unknown call: %d", code)
	}
}

// StartGather reports each digit as a dtmf callback while the BXML goes on.
func TestStartGatherSendsDtmfEvents(t *testing.T) {
	n := startNode(t)
	caller := newPhone(t, 'G', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartGather dtmfUrl="/dtmf"/><Pause duration="30"/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	defer out.Hangup(context.Background())
	h.wait("initiate", 5*time.Second)
	// StartGather hears digits from when it starts, a moment after the
	// callback was answered: the caller presses 7 until one is reported.
	var ev event
	for tries := 0; ; tries++ {
		caller.pressDigits("7")
		var ok bool
		if ev, ok = h.within("dtmf", 500*time.Millisecond); ok {
			break
		}
		if tries == 20 {
			t.Fatalf("no dtmf callback; got %v", h.types())
		}
	}
	if ev.Body["digit"] != "7" {
		t.Errorf("dtmf: %v", ev.Body)
	}
	checkSchema(t, ev)
}

// <Bridge> joins two live calls: they hear each other; when the bridged
// target hangs up, the first call gets bridgeComplete.
func TestBridgeTwoCalls(t *testing.T) {
	n := startNode(t)
	alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', false)
	var bobCall string
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/bob":
			return `<Response><Pause duration="60"/></Response>`
		case "/alice":
			return `<Response><Bridge bridgeCompleteUrl="/bridged">` + bobCall + `</Bridge></Response>`
		case "/bridged":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	bobApp := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/bob")})
	aliceApp := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/alice")})
	bobOut := dialApp(t, n, bob, bobApp)
	bobCall = h.wait("initiate", 5*time.Second).Body["callId"].(string)
	aliceOut := dialApp(t, n, alice, aliceApp)
	alice.talkWith(bob, 25, 10*time.Second)
	if a, b := alice.heard('B'), bob.heard('A'); a < 25 || b < 25 {
		t.Fatalf("alice heard %d, bob heard %d", a, b)
	}
	bobOut.Hangup(context.Background())
	done := h.wait("bridgeComplete", 10*time.Second)
	checkSchema(t, done)
	waitDone(t, aliceOut.Done(), "alice's call")
}
