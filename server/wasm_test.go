package server

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// buildGuest builds the Go guest package at pkg (relative to the module
// root, e.g. "examples/ivr") for GOOS=wasip1 and returns its bytes.
func buildGuest(t testing.TB, pkg string) []byte {
	t.Helper()
	return testenv.BuildGuest(t, "../"+pkg)
}

// startWasmNode is startNode with the shared compilation cache.
func startWasmNode(t *testing.T, mods ...func(*Config)) *node {
	cache := testenv.WasmCompilationCache(t)
	return startNode(t, append([]func(*Config){func(c *Config) { c.WasmCacheDir = cache }}, mods...)...)
}

// upload posts wasm as a raw application/wasm body and returns the status
// and the module id or the error body.
func (n *node) upload(t *testing.T, name string, wasm []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.api+"/v2/accounts/"+n.creds.AccountID+"/modules?name="+name, bytes.NewReader(wasm))
	req.Header.Set("Content-Type", "application/wasm")
	req.Header.Set("Authorization", "Bearer "+n.token)
	return doUpload(t, req)
}

func doUpload(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, buf.String()
	}
	var out struct {
		Data struct {
			ModuleID string `json:"moduleId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.Data.ModuleID
}

// module uploads the guest built from pkg and returns its id.
func (n *node) module(t *testing.T, pkg string) string {
	t.Helper()
	code, id := n.upload(t, filepath.Base(pkg), buildGuest(t, pkg))
	if code != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", pkg, code, id)
	}
	return id
}

// kvSet writes the application's key-value store as an operator does,
// through the API, so the examples prove what modules read is what the
// API wrote.
func (n *node) kvSet(t *testing.T, appID, key, val string) {
	t.Helper()
	path := "/v2/accounts/" + n.creds.AccountID + "/voice-applications/" + appID + "/kv/" + url.PathEscape(key)
	if code := n.call(t, "PUT", path, map[string]string{"value": val}, nil); code != http.StatusOK {
		t.Fatalf("PUT %s: %d", path, code)
	}
}

// endedCall waits for the stored record of the application's first call
// (not a transfer's B-leg) and returns it with its log.
func (n *node) endedCall(t *testing.T, appID string) (store.CallRecord, []store.LogEntry) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		page, err := n.srv.Store().Calls(ctx, n.creds.AccountID, store.CallFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Calls {
			if c.ApplicationID == appID && c.ParentCallID == "" {
				log, err := n.srv.Store().CallLog(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				return c, log
			}
		}
	}
	t.Fatalf("no ended call of application %s", appID)
	return store.CallRecord{}, nil
}

func logHas(log []store.LogEntry, source, substr string) bool {
	for _, l := range log {
		if l.Source == source && strings.Contains(l.Message, substr) {
			return true
		}
	}
	return false
}

func TestModuleUploadAPI(t *testing.T) {
	n := startWasmNode(t)
	base := "/v2/accounts/" + n.creds.AccountID + "/modules"
	if code, body := n.upload(t, "junk", []byte("this is not wasm")); code != http.StatusBadRequest || !strings.Contains(body, "not a valid WebAssembly module") {
		t.Errorf("garbage upload: %d %s", code, body)
	}
	if code, body := n.upload(t, "empty", nil); code != http.StatusBadRequest {
		t.Errorf("empty upload: %d %s", code, body)
	}
	if code, body := n.upload(t, "bad", buildGuest(t, "wasmhost/testdata/badimport")); code != http.StatusBadRequest || !strings.Contains(body, "sneaky") {
		t.Errorf("bad import: %d %s", code, body)
	}

	// Multipart, name from the file name.
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("module", "router.wasm")
	fw.Write(buildGuest(t, "examples/router"))
	w.Close()
	req, _ := http.NewRequest("POST", n.api+base, &mp)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+n.token)
	code, id := doUpload(t, req)
	if code != http.StatusCreated {
		t.Fatalf("multipart upload: %d %s", code, id)
	}
	var one struct {
		Data struct {
			Name       string   `json:"name"`
			SHA256     string   `json:"sha256"`
			Size       int      `json:"size"`
			ABIVersion int      `json:"abiVersion"`
			Exports    []string `json:"exports"`
		} `json:"data"`
	}
	if c := n.call(t, "GET", base+"/"+id, nil, &one); c != 200 {
		t.Fatalf("get: %d", c)
	}
	if d := one.Data; d.Name != "router" || len(d.SHA256) != 64 || d.Size == 0 || d.ABIVersion != 1 || !strings.Contains(strings.Join(d.Exports, ","), "wasmvoice_handle") {
		t.Errorf("module: %+v", d)
	}
	var list struct {
		Data []struct {
			ModuleID string `json:"moduleId"`
		} `json:"data"`
	}
	if c := n.call(t, "GET", base, nil, &list); c != 200 || len(list.Data) != 1 || list.Data[0].ModuleID != id {
		t.Errorf("list: %d %+v", c, list)
	}
	// Unauthenticated requests are refused like the other routes.
	req, _ = http.NewRequest("GET", n.api+base, nil)
	if c := doJSON(t, req, nil); c != http.StatusUnauthorized {
		t.Errorf("no token: %d", c)
	}

	if c := n.call(t, "POST", "/v2/accounts/"+n.creds.AccountID+"/voice-applications", map[string]any{"applicationName": "x", "moduleId": "nope"}, nil); c != http.StatusBadRequest {
		t.Errorf("binding an unknown module: %d", c)
	}
	appID, _ := n.app(t, map[string]any{"moduleId": id, "moduleEvents": []string{"sip.inbound"}})
	if c := n.call(t, "DELETE", base+"/"+id, nil, nil); c != http.StatusConflict {
		t.Errorf("delete in use: %d", c)
	}
	if c := n.call(t, "PATCH", "/v2/accounts/"+n.creds.AccountID+"/voice-applications/"+appID, map[string]any{"moduleId": ""}, nil); c != 200 {
		t.Fatalf("unbind: %d", c)
	}
	if c := n.call(t, "DELETE", base+"/"+id, nil, nil); c != http.StatusNoContent {
		t.Errorf("delete: %d", c)
	}
	if c := n.call(t, "GET", base+"/"+id, nil, nil); c != http.StatusNotFound {
		t.Errorf("get deleted: %d", c)
	}
}
