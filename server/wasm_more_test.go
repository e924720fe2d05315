package server

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// A module above the node's size limit is refused with 413 and a message
// naming the limit, raw or multipart; nothing is stored.
func TestModuleUploadSizeLimit(t *testing.T) {
	n := startWasmNode(t, func(c *Config) { c.WasmMaxModuleBytes = 1 << 20 })
	wasm := buildGuest(t, "examples/router")
	if len(wasm) <= 1<<20 {
		t.Fatalf("the router guest is %d bytes; the test needs one above 1 MiB", len(wasm))
	}
	if code, body := n.upload(t, "big", wasm); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "limit") {
		t.Errorf("raw upload above the limit: %d %s", code, body)
	}
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("module", "router.wasm")
	fw.Write(wasm)
	w.Close()
	req, _ := http.NewRequest("POST", n.api+"/v2/accounts/"+n.creds.AccountID+"/modules", &mp)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+n.token)
	if code, body := doUpload(t, req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart upload above the limit: %d %s", code, body)
	}
	var list struct {
		Data []map[string]any `json:"data"`
	}
	if c := n.call(t, "GET", "/v2/accounts/"+n.creds.AccountID+"/modules", nil, &list); c != 200 || len(list.Data) != 0 {
		t.Errorf("list after refused uploads: %d %v", c, list.Data)
	}
}

// GET one and list show every field the issue names, the same in both.
func TestModuleGetFields(t *testing.T) {
	n := startWasmNode(t)
	id := n.module(t, "examples/ivr")
	var one, list struct {
		Data any `json:"data"`
	}
	base := "/v2/accounts/" + n.creds.AccountID + "/modules"
	if c := n.call(t, "GET", base+"/"+id, nil, &one); c != 200 {
		t.Fatalf("get: %d", c)
	}
	if c := n.call(t, "GET", base, nil, &list); c != 200 {
		t.Fatalf("list: %d", c)
	}
	items, _ := list.Data.([]any)
	if len(items) != 1 {
		t.Fatalf("list: %v", list.Data)
	}
	for what, v := range map[string]any{"get": one.Data, "list": items[0]} {
		m, _ := v.(map[string]any)
		created, _ := time.Parse(time.RFC3339, str(m["createdTime"]))
		exports, _ := m["exports"].([]any)
		if m["moduleId"] != id || m["name"] != "ivr" || len(str(m["sha256"])) != 64 || m["size"] == float64(0) ||
			m["abiVersion"] != float64(1) || len(exports) == 0 || time.Since(created) > time.Hour {
			t.Errorf("%s: %v", what, m)
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }

// The headermapper example's sip.outbound headers reach a real UAS: sipp
// checks User-to-User, the passed-through X-Customer-Id and the constant
// X-Origin on the INVITE of the transfer, and fails the scenario otherwise.
func TestHeaderMapperHeadersReachSippUAS(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "examples/headermapper")
	uasPort := testenv.FreeUDPPort(t)
	uas := startSipp(t, "wasm_mapped_uas.xml", "-p", strconv.Itoa(uasPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Transfer><SipUri>sip:far@127.0.0.1:` + strconv.Itoa(uasPort) + `</SipUri></Transfer></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleEvents": []string{"sip.inbound", "sip.outbound"},
		"callInitiatedCallbackUrl": h.url("/initiate")})
	alice := newPhone(t, 'A', false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := alice.dialFrom(ctx, "sip:"+appID+"@"+n.sip, "sip:+15550001111@127.0.0.1",
		sip.Header{Name: "User-to-User", Value: "3432;encoding=hex;purpose=bland;content=id"},
		sip.Header{Name: "X-Customer-Id", Value: "cust-9"})
	if err != nil {
		t.Fatal(err)
	}
	uas.wait(t, 30*time.Second)
	call.Hangup(ctx)
	rec, _ := n.endedCall(t, appID)
	if rec.Variables["id"] != "42" || rec.Variables["hdr.X-Customer-Id"] != "cust-9" {
		t.Errorf("variables %v", rec.Variables)
	}
}

// callLog reads an ended call's log through the API.
func (n *node) callLog(t *testing.T, callID string) []store.LogEntry {
	t.Helper()
	var out struct {
		Entries []store.LogEntry `json:"entries"`
	}
	path := "/api/v2/accounts/" + n.creds.AccountID + "/calls/" + callID + "/log"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c := n.call(t, "GET", path, nil, &out)
		if c == 200 {
			return out.Entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d", path, c)
		}
	}
}

// A spinning module is stopped at its deadline, the webhook answers the
// call instead, and the call log API says so, naming the module.
func TestModuleSpinFallbackInCallLogAPI(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/faulty")
	h := newHook(t, func(ev event) string { return `<Response><Hangup/></Response>` })
	appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleTimeoutMs": 50, "callInitiatedCallbackUrl": h.url("/fallback")})
	n.kvSet(t, appID, "mode", "spin")
	alice := newPhone(t, 'A', false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if out, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", ""); err == nil {
		out.Hangup(ctx)
	}
	ev := waitPath(t, h, "/fallback")
	t.Logf("50 ms deadline: the webhook answered %v after the INVITE", time.Since(start))
	callID, _ := ev.Body["callId"].(string)
	log := n.callLog(t, callID)
	if !logHas(log, "module", "timed out") || !logHas(log, "module", "faulty@") || !logHas(log, "module", "falling back") {
		t.Errorf("call log %+v", log)
	}
}

// Variables a sip.inbound hook attaches reach the module's call events,
// the event's callback fields reach it too, its variables land on the call,
// and its log lines appear in the call log with the module's name.
func TestModuleVariablesAndLogReachTheCall(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/faulty")
	appID := n.ipApp(t, map[string]any{"moduleId": mod})
	alice := newPhone(t, 'A', false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", ""); err == nil {
		out.Hangup(ctx)
	}
	rec, _ := n.endedCall(t, appID)
	v := rec.Variables
	if v["from_hook"] != "inbound saw INVITE" || v["initiate_saw"] != "inbound saw INVITE" ||
		v["initiate_call"] != rec.ID || v["initiate_direction"] != "inbound" {
		t.Errorf("variables %v (call %s)", v, rec.ID)
	}
	log := n.callLog(t, rec.ID)
	found := false
	for _, l := range log {
		if l.Source == "module" && strings.Contains(l.Message, "initiate "+rec.ID) && strings.Contains(l.Message, "module=faulty@") {
			found = true
		}
	}
	if !found {
		t.Errorf("guest log line with the module name missing: %+v", log)
	}
}

// A call a module answers still sends its status callbacks to
// callStatusCallbackUrl, as a webhook-driven call does.
func TestModuleCallSendsStatusCallbacks(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/faulty")
	h := newHook(t, func(ev event) string { return "" })
	appID := n.ipApp(t, map[string]any{"moduleId": mod, "callStatusCallbackUrl": h.url("/status")})
	alice := newPhone(t, 'A', false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", ""); err == nil {
		out.Hangup(ctx)
	}
	rec, _ := n.endedCall(t, appID)
	ev := h.wait("disconnect", 10*time.Second)
	if ev.Path != "/status" || ev.Body["callId"] != rec.ID || ev.Body["cause"] != rec.DisconnectCause {
		t.Errorf("disconnect callback %s %v, call %s cause %s", ev.Path, ev.Body, rec.ID, rec.DisconnectCause)
	}
}
