package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/store"
)

// twoNodes starts two nodes sharing one database: PostgreSQL under
// WASMVOICE_TEST_STORE=postgres (each node with a data directory of its
// own, as in production), else one SQLite file in a shared data directory.
func twoNodes(t *testing.T) (a, b *node) {
	t.Helper()
	dir, dbURL := t.TempDir(), ""
	shared := func(id string) func(*Config) {
		return func(c *Config) {
			if dbURL == "" {
				dbURL = c.DatabaseURL
			} else {
				c.DatabaseURL = dbURL
			}
			if c.DatabaseURL == "" {
				c.DataDir = dir
			}
			c.NodeID, c.NodeHeartbeat = id, 200*time.Millisecond
		}
	}
	a = startNode(t, shared("node-a"))
	b = startNodeOf(t, a.creds.AccountID, shared("node-b"))
	return a, b
}

// A call carried by node B is reached through node A's Voice API: its live
// state, updateCall and PUT bxml are forwarded to B (the caller's token, one
// node signs and every node accepts); once it ended, A serves its record
// from the shared store.
func TestVoiceAPIReachesTheCallsNode(t *testing.T) {
	a, b := twoNodes(t)
	nodes, err := a.srv.Store().Nodes(t.Context())
	if err != nil || len(nodes) != 2 || nodes[0].APIURL != a.api || nodes[1].APIURL != b.api || nodes[1].MediaIP != "127.0.0.1" {
		t.Fatalf("nodes %+v, %v (APIs %s, %s)", nodes, err, a.api, b.api)
	}
	caller := newPhone(t, 'F', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Pause duration="60"/></Response>`
		}
		return ""
	})
	appID := a.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, b, caller, appID) // the call lands on node B
	callID := h.wait("initiate", 5*time.Second).Body["callId"].(string)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if owner, err := a.srv.Store().CallOwner(t.Context(), callID); err == nil && owner == "node-b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call was not journaled as node-b's")
		}
	}
	// B accepts the token A signed.
	b.token = a.token
	var state CallStateJSON
	if code := b.call(t, "GET", b.voice("/calls/"+callID), nil, &state); code != 200 {
		t.Fatalf("node B with node A's token: %d", code)
	}
	for deadline := time.Now().Add(5 * time.Second); state.State != "answered" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		a.call(t, "GET", a.voice("/calls/"+callID), nil, &state)
	}
	if state.State != "answered" || state.CallID != callID {
		t.Fatalf("live state through node A: %+v", state)
	}
	var list []CallStateJSON
	if code := a.call(t, "GET", a.voice("/calls"), nil, &list); code != 200 || len(list) != 1 || list[0].CallID != callID {
		t.Fatalf("node A lists node B's live call: %d %+v", code, list)
	}
	if code := b.call(t, "GET", b.voice("/calls"), nil, &list); code != 200 || len(list) != 1 || list[0].CallID != callID || list[0].State != "answered" {
		t.Fatalf("node B lists its own live call once: %d %+v", code, list)
	}
	putBXML := func(doc string) *http.Request {
		req, _ := http.NewRequest("PUT", a.api+a.voice("/calls/"+callID+"/bxml"), strings.NewReader(doc))
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("Authorization", "Bearer "+a.token)
		return req
	}
	if code := doJSON(t, putBXML(`<Bxml><Tag>from-a</Tag><Pause duration="60"/></Bxml>`), nil); code != 204 {
		t.Fatalf("PUT bxml through node A: %d", code)
	}
	// A bad body is refused by the owner, in the Voice API's error shape.
	if code, verr := voiceError(t, putBXML(`<Bxml><Paws/></Bxml>`)); code != 400 || verr.Type != "validation" || !strings.Contains(verr.Description, "Paws") {
		t.Fatalf("invalid BXML through node A: %d %+v", code, verr)
	}
	// Someone else's credentials get no further than node A.
	req, _ := http.NewRequest("POST", a.api+a.voice("/calls/"+callID), strings.NewReader(`{"state":"completed"}`))
	req.Header.Set("Authorization", "Bearer forged")
	if code := doJSON(t, req, nil); code != 401 {
		t.Fatalf("forged token: %d", code)
	}
	if code := a.call(t, "POST", a.voice("/calls/"+callID), map[string]any{"state": "completed"}, nil); code != 200 {
		t.Fatalf("updateCall through node A: %d", code)
	}
	waitDone(t, out.Done(), "the call on node B")
	disc := waitPath(t, h, "/status")
	if disc.Body["cause"] != "hangup" || disc.Body["tag"] != "from-a" {
		t.Errorf("disconnect: %v", disc.Body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var rec CallStateJSON
		if code := a.call(t, "GET", a.voice("/calls/"+callID), nil, &rec); code == 200 && rec.State == "disconnected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node A does not serve the ended call's record")
		}
	}
	if code := a.call(t, "POST", a.voice("/calls/"+callID), map[string]any{"state": "completed"}, nil); code != 404 {
		t.Errorf("update of the ended call through node A: %d", code)
	}
	// A node that stops on purpose leaves: no other node reconciles it.
	b.stop(t)
	n, err := a.srv.Store().Node(t.Context(), "node-b")
	if err != nil || n.ClaimedBy != "node-b" {
		t.Fatalf("node B after its shutdown: %+v, %v", n, err)
	}
}

// A node that stops beating is claimed by another, which reconciles its
// journaled calls (ended with a "node lost" error, the disconnect callback
// sent); before that, a request for such a call gets 503.
func TestLostNodeIsReconciled(t *testing.T) {
	a, _ := twoNodes(t)
	ctx := t.Context()
	h := newHook(t, func(event) string { return "" })
	appID := a.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	// node-x: a third node on the same database that journaled a call and
	// died before it ever registered.
	xDir := a.srv.DataDir()
	if a.srv.cfg.DatabaseURL != "" {
		xDir = t.TempDir()
	}
	x, err := store.OpenDatabase(ctx, xDir, a.srv.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.SetNodeID("node-x")
	start := time.Now().Add(-time.Minute).UTC()
	callID := "c-lost-on-node-x"
	rec := store.CallRecord{ID: callID, AccountID: a.creds.AccountID, ApplicationID: appID, Direction: "inbound", From: "+15550001111", To: "+15550002222",
		State: "answered", EnqueuedTime: start, StartTime: start, AnswerTime: start, LastUpdate: start}
	if err := x.JournalCall(store.LiveCall{Record: rec}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if owner, err := x.CallOwner(ctx, callID); err == nil && owner == "node-x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call was not journaled")
		}
	}
	req, _ := http.NewRequest("POST", a.api+a.voice("/calls/"+callID), strings.NewReader(`{"state":"completed"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	if code, verr := voiceError(t, req); code != 503 || verr.Type != "internal-server-error" || !strings.Contains(verr.Description, "node-x") {
		t.Fatalf("a call of a node that is gone: %d %+v", code, verr)
	}
	old := time.Now().Add(-time.Hour)
	if err := x.RegisterNode(ctx, store.Node{ID: "node-x", APIURL: "http://127.0.0.1:9", SIPAddr: "127.0.0.1:9", MediaIP: "127.0.0.1",
		Region: "US", Version: "t", StartedAt: old, HeartbeatAt: old}); err != nil {
		t.Fatal(err)
	}
	disc := waitPath(t, h, "/status")
	if disc.Body["callId"] != callID || disc.Body["cause"] != "error" || disc.Body["errorMessage"] != calls.NodeLostMessage {
		t.Fatalf("disconnect: %v", disc.Body)
	}
	n, err := x.Node(ctx, "node-x")
	if err != nil || (n.ClaimedBy != "node-a" && n.ClaimedBy != "node-b") {
		t.Fatalf("node-x: %+v, %v", n, err)
	}
	var state CallStateJSON
	if code := a.call(t, "GET", a.voice("/calls/"+callID), nil, &state); code != 200 || state.State != "disconnected" || state.DisconnectCause != "error" {
		t.Fatalf("the reconciled call: %d %+v", code, state)
	}
}

// voiceError sends req and decodes the VoiceApiError it answers.
func voiceError(t *testing.T, req *http.Request) (int, api.VoiceAPIError) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var verr api.VoiceAPIError
	if err := json.NewDecoder(resp.Body).Decode(&verr); err != nil {
		t.Fatalf("%s %s: %d, not a VoiceApiError: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return resp.StatusCode, verr
}
