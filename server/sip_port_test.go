package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// raw sends a request with the node's token (or auth when not "") and
// returns the status and the body, errors included.
func (n *node) raw(t *testing.T, method, path, contentType, auth string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, n.api+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth == "" {
		auth = "Bearer " + n.token
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (n *node) rawJSON(t *testing.T, method, path, auth string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return n.raw(t, method, path, "application/json", auth, r)
}

// webhookRecorder is an HTTP server that records the JSON bodies POSTed to it.
type webhookRecorder struct {
	srv *httptest.Server
	got chan map[string]any
}

func newWebhookRecorder(t *testing.T) *webhookRecorder {
	t.Helper()
	w := &webhookRecorder{got: make(chan map[string]any, 64)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&v); err != nil || r.Method != http.MethodPost {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		select {
		case w.got <- v:
		default:
		}
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookRecorder) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case v := <-w.got:
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook arrived")
		return nil
	}
}

// uploadDoc uploads content as the multipart part "file".
func (n *node) uploadDoc(t *testing.T, name string, content []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	return n.raw(t, "POST", "/v1/sip/port/document", mw.FormDataContentType(), "", &buf)
}

// A port walks waiting_for_signature → submitted → in_progress →
// completed through the operator's route, with a webhook for each change;
// changes the state machine does not allow are 409; the completed port's
// number is this account's own (another account cannot attach it) and
// verified. Documents: a PDF is stored under the data dir, text and an
// 11 MB file are refused; the target date must be 7 days out.
func TestSIPPortLifecycle(t *testing.T) {
	n := startNode(t)
	hook := newWebhookRecorder(t)

	// Documents.
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	code, b := n.uploadDoc(t, "loa.pdf", pdf)
	var doc struct {
		Data struct {
			DocumentID  string `json:"document_id"`
			ContentType string `json:"content_type"`
			SizeBytes   int64  `json:"size_bytes"`
		} `json:"data"`
	}
	if code != 200 || json.Unmarshal(b, &doc) != nil || doc.Data.ContentType != "application/pdf" || doc.Data.SizeBytes != int64(len(pdf)) {
		t.Fatalf("upload pdf: %d %s", code, b)
	}
	stored, err := os.ReadFile(filepath.Join(n.srv.DataDir(), "ports", n.creds.AccountID, doc.Data.DocumentID))
	if err != nil || !bytes.Equal(stored, pdf) {
		t.Errorf("stored document: %v (%d bytes)", err, len(stored))
	}
	if code, b := n.uploadDoc(t, "loa.pdf", []byte("just some text pretending to be a PDF")); code != 400 || !strings.Contains(string(b), `"body.file"`) {
		t.Errorf("text upload: %d %s", code, b)
	}
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{' '}, 11<<20)...)
	if code, b := n.raw(t, "POST", "/v1/sip/port/document", "application/pdf", "", bytes.NewReader(big)); code != 413 {
		t.Errorf("11 MB upload: %d %s", code, b)
	}
	if left, _ := filepath.Glob(filepath.Join(n.srv.DataDir(), "ports", n.creds.AccountID, ".upload-*")); len(left) != 0 {
		t.Errorf("refused uploads left files: %v", left)
	}

	// Check and initiate.
	var check struct {
		Data struct {
			Numbers []struct {
				PhoneNumber string  `json:"phone_number"`
				Valid       bool    `json:"valid"`
				Portable    bool    `json:"portable"`
				Reason      *string `json:"reason"`
			} `json:"numbers"`
			AllPortable bool `json:"all_portable"`
		} `json:"data"`
	}
	code, b = n.rawJSON(t, "GET", "/v1/sip/port/check?phone_numbers=%2B14155550123,12345", "", nil)
	if code != 200 || json.Unmarshal(b, &check) != nil || len(check.Data.Numbers) != 2 || !check.Data.Numbers[0].Portable ||
		check.Data.Numbers[1].Valid || check.Data.AllPortable {
		t.Fatalf("check: %d %s", code, b)
	}
	if code, b := n.rawJSON(t, "GET", "/v1/sip/port/check", "", nil); code != 400 || !strings.Contains(string(b), "query.phone_numbers") {
		t.Errorf("check without numbers: %d %s", code, b)
	}
	req := map[string]any{
		"phone_numbers":             []string{"+14155550123"},
		"authorized_representative": map[string]any{"name": "Jane Doe", "title": "IT Director", "email": "jane@example.com"},
		"service_address":           map[string]any{"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105", "country": "US"},
		"target_date":               time.Now().UTC().Add(3 * 24 * time.Hour).Format(time.DateOnly),
		"document_id":               doc.Data.DocumentID,
		"webhook_url":               hook.srv.URL,
	}
	if code, b := n.rawJSON(t, "POST", "/v1/sip/port/initiate", "", req); code != 400 || !strings.Contains(string(b), "body.target_date") {
		t.Errorf("target date 3 days out: %d %s", code, b)
	}
	req["target_date"] = time.Now().UTC().Add(10 * 24 * time.Hour).Format(time.DateOnly)
	req["service_address"].(map[string]any)["country"] = "usa"
	if code, b := n.rawJSON(t, "POST", "/v1/sip/port/initiate", "", req); code != 400 || !strings.Contains(string(b), "body.service_address.country") {
		t.Errorf("bad country: %d %s", code, b)
	}
	req["service_address"].(map[string]any)["country"] = "US"
	type portView struct {
		PortID  string `json:"port_id"`
		Status  string `json:"status"`
		History []struct {
			Status string `json:"status"`
		} `json:"history"`
	}
	var port struct {
		Data portView `json:"data"`
	}
	code, b = n.rawJSON(t, "POST", "/v1/sip/port/initiate", "", req)
	if code != 200 || json.Unmarshal(b, &port) != nil || port.Data.Status != store.PortWaitingForSignature {
		t.Fatalf("initiate: %d %s", code, b)
	}
	id := port.Data.PortID
	if ev := hook.next(t); ev["status"] != store.PortWaitingForSignature || ev["port_id"] != id || ev["previous_status"] != nil {
		t.Errorf("first webhook: %v", ev)
	}
	if code, b := n.rawJSON(t, "POST", "/v1/sip/port/initiate", "", req); code != 400 || !strings.Contains(string(b), "already in port") {
		t.Errorf("the same number again: %d %s", code, b)
	}

	advance := func(status string) (int, []byte) {
		return n.rawJSON(t, "POST", "/v1/sip/port/"+id+"/advance", "", map[string]any{"status": status, "reason": "step " + status})
	}
	// Skipping a state is refused, as is an unknown one.
	if code, b := advance(store.PortCompleted); code != 409 {
		t.Errorf("waiting_for_signature → completed: %d %s", code, b)
	}
	if code, b := advance("done"); code != 400 || !strings.Contains(string(b), "body.status") {
		t.Errorf("unknown status: %d %s", code, b)
	}
	prev := store.PortWaitingForSignature
	for _, st := range []string{store.PortSubmitted, store.PortInProgress, store.PortCompleted} {
		code, b := advance(st)
		if code != 200 || json.Unmarshal(b, &port) != nil || port.Data.Status != st {
			t.Fatalf("advance to %s: %d %s", st, code, b)
		}
		if ev := hook.next(t); ev["status"] != st || ev["previous_status"] != prev || ev["reason"] != "step "+st {
			t.Errorf("webhook for %s: %v", st, ev)
		}
		prev = st
	}
	if len(port.Data.History) != 4 {
		t.Errorf("history: %+v", port.Data.History)
	}
	// Final: nothing moves it, not even a cancel.
	for _, st := range []string{store.PortFailed, store.PortCanceled, store.PortSubmitted} {
		if code, b := advance(st); code != 409 {
			t.Errorf("completed → %s: %d %s", st, code, b)
		}
	}
	if code, b := n.rawJSON(t, "DELETE", "/v1/sip/port/"+id, "", nil); code != 409 {
		t.Errorf("cancel a completed port: %d %s", code, b)
	}

	// The number is now this account's: check says so, another account
	// may not attach it, and it is verified.
	code, b = n.rawJSON(t, "GET", "/v1/sip/port/check?phone_numbers=%2B14155550123", "", nil)
	if code != 200 || json.Unmarshal(b, &check) != nil || check.Data.Numbers[0].Portable || !strings.Contains(*check.Data.Numbers[0].Reason, "ported into this account") {
		t.Errorf("check after completion: %d %s", code, b)
	}
	ctx := t.Context()
	other, err := n.srv.Store().CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.srv.Store().SetAccountFeatures(ctx, other.ID, []string{store.FeatureSIP}); err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := n.srv.Store().CreateAPIKey(ctx, other.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	attach := map[string]any{"service": "sip", "phone_number": "+14155550123",
		"directions": []any{map[string]any{"type": "outbound", "sip_endpoint": "sip:127.0.0.1:5099"}}}
	code, b = n.rawJSON(t, "POST", "/v1/sip/attach", otherKey, attach)
	if code != 200 || !strings.Contains(string(b), "ported to this server (or being ported) by another account") {
		t.Errorf("another account attaching the ported number: %d %s", code, b)
	}
	if method, _, ok, err := n.srv.Store().NumberVerified(ctx, n.creds.AccountID, "+14155550123"); !ok || err != nil || method != store.VerifiedByPort {
		t.Errorf("ported number verified: %q %v %v", method, ok, err)
	}
	// The operator route needs the admin feature; the other account's
	// ports list is its own.
	if code, b := n.rawJSON(t, "POST", "/v1/sip/port/"+id+"/advance", otherKey, map[string]any{"status": "failed"}); code != 403 {
		t.Errorf("advance without admin: %d %s", code, b)
	}
	if code, b := n.rawJSON(t, "GET", "/v1/sip/port?port_id="+id, otherKey, nil); code != 404 {
		t.Errorf("another account reading the port: %d %s", code, b)
	}

	// A second port: canceled by the account from submitted, then failed
	// is refused; a third fails from in_progress.
	req["phone_numbers"] = []string{"+14155550124"}
	for i, path := range [][]string{{store.PortSubmitted, "cancel"}, {store.PortSubmitted, store.PortInProgress, store.PortFailed}} {
		code, b := n.rawJSON(t, "POST", "/v1/sip/port/initiate", "", req)
		if code != 200 || json.Unmarshal(b, &port) != nil {
			t.Fatalf("port %d: %d %s", i, code, b)
		}
		id = port.Data.PortID
		hook.next(t)
		if i == 0 { // while it is being ported, no other account may take it
			attach["phone_number"] = "+14155550124"
			if code, b := n.rawJSON(t, "POST", "/v1/sip/attach", otherKey, attach); code != 200 || !strings.Contains(string(b), "being ported") {
				t.Errorf("another account attaching a number in a port: %d %s", code, b)
			}
		}
		for _, st := range path {
			if st == "cancel" {
				code, b = n.rawJSON(t, "DELETE", "/v1/sip/port/"+id, "", nil)
				st = store.PortCanceled
			} else {
				code, b = advance(st)
			}
			if code != 200 || json.Unmarshal(b, &port) != nil || port.Data.Status != st {
				t.Fatalf("port %d to %s: %d %s", i, st, code, b)
			}
			if ev := hook.next(t); ev["status"] != st {
				t.Errorf("webhook: %v", ev)
			}
		}
		if code, b := advance(store.PortInProgress); code != 409 {
			t.Errorf("port %d: a final port moved: %d %s", i, code, b)
		}
	}
	var list struct {
		Data struct {
			Ports []portView `json:"ports"`
		} `json:"data"`
	}
	code, b = n.rawJSON(t, "GET", "/v1/sip/port", "", nil)
	if code != 200 || json.Unmarshal(b, &list) != nil || len(list.Data.Ports) != 3 ||
		strings.Join([]string{list.Data.Ports[0].Status, list.Data.Ports[1].Status, list.Data.Ports[2].Status}, " ") != "failed canceled completed" {
		t.Errorf("list: %d %s", code, b)
	}
}
