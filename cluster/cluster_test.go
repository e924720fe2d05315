package cluster

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

func TestNodeIDIsStablePerDataDir(t *testing.T) {
	dir := t.TempDir()
	id, err := NodeID(dir, "")
	if err != nil || !validNodeID.MatchString(id) {
		t.Fatalf("generated %q, %v", id, err)
	}
	if again, err := NodeID(dir, ""); err != nil || again != id {
		t.Fatalf("second start: %q, %v (first %q)", again, err, id)
	}
	if got, err := NodeID(dir, "edge-1.eu"); err != nil || got != "edge-1.eu" {
		t.Fatalf("--node-id: %q, %v", got, err)
	}
	for _, bad := range []string{"-x", "a b", strings.Repeat("x", 65), "x/y"} {
		if _, err := NodeID(dir, bad); err == nil {
			t.Errorf("--node-id %q accepted", bad)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, nodeIDFile), []byte("../../etc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NodeID(dir, ""); err == nil {
		t.Error("a corrupt node-id file was accepted")
	}
}

// forwardBed is a store with this node ("node-a") and a call journaled by
// node-b, whose API is owner.
func forwardBed(t *testing.T, owner http.Handler) (*Forwarder, *store.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetNodeID("node-b")
	now := time.Now()
	if err := st.JournalCall(store.LiveCall{Record: store.CallRecord{ID: "c-1", AccountID: "acct", StartTime: now.UTC()}}); err != nil {
		t.Fatal(err)
	}
	api := "http://127.0.0.1:9" // nothing listens: discard port
	if owner != nil {
		srv := httptest.NewServer(owner)
		t.Cleanup(srv.Close)
		api = srv.URL
	}
	if err := st.RegisterNode(ctx, store.Node{ID: "node-b", APIURL: api, StartedAt: now, HeartbeatAt: now}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := st.CallOwner(ctx, "c-1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not journaled")
		}
	}
	st.SetNodeID("node-a")
	return NewForwarder(New(Config{Store: st, Self: store.Node{ID: "node-a"}, Heartbeat: time.Minute})), st
}

func serve(f *Forwarder, r *http.Request, callID string) (*httptest.ResponseRecorder, bool) {
	w := httptest.NewRecorder()
	ok := f.Forward(w, r, callID)
	return w, ok
}

func TestForwarder(t *testing.T) {
	var mu sync.Mutex // the owner's handlers outlive requests the proxy gave up
	var seen http.Header
	var body string
	f, _ := forwardBed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/v2/accounts/acct/calls/c-1/bxml" {
			mu.Lock()
			seen, body = r.Header.Clone(), string(b)
			mu.Unlock()
		}
		if r.URL.Path == "/huge" {
			w.Write(make([]byte, maxForwardBody+10))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest("PUT", "/api/v2/accounts/acct/calls/c-1/bxml", strings.NewReader("<Bxml/>"))
	r.Header.Set("Authorization", "Bearer tok")
	w, ok := serve(f, r, "c-1")
	mu.Lock()
	defer mu.Unlock()
	if !ok || w.Code != 204 || seen.Get("Authorization") != "Bearer tok" || seen.Get(HopHeader) != "node-a" || body != "<Bxml/>" {
		t.Fatalf("forwarded: %v %d, owner saw %v %q", ok, w.Code, seen, body)
	}
	// Never twice: a forwarded request is served where it lands.
	r = httptest.NewRequest("GET", "/api/v2/accounts/acct/calls/c-1", nil)
	r.Header.Set(HopHeader, "node-c")
	if _, ok := serve(f, r, "c-1"); ok {
		t.Fatal("a forwarded request was forwarded again")
	}
	// Calls no other node carries are this node's business.
	if _, ok := serve(f, httptest.NewRequest("GET", "/x", nil), "c-unknown"); ok {
		t.Fatal("an unknown call was forwarded")
	}
	// Bodies are bounded both ways.
	w, ok = serve(f, httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("x", maxForwardBody+1))), "c-1")
	if !ok || w.Code < 400 {
		t.Fatalf("oversized request: %v %d", ok, w.Code)
	}
	w, ok = serve(f, httptest.NewRequest("GET", "/huge", nil), "c-1")
	if !ok || w.Body.Len() > maxForwardBody {
		t.Fatalf("oversized answer: %v, %d bytes through", ok, w.Body.Len())
	}
}

func TestForwarderOwnerDownOrDead(t *testing.T) {
	f, st := forwardBed(t, nil)
	// Registered and beating, but nothing answers: 502.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	now := time.Now()
	if err := st.RegisterNode(context.Background(), store.Node{ID: "node-b", APIURL: "http://" + addr, StartedAt: now, HeartbeatAt: now}); err != nil {
		t.Fatal(err)
	}
	w, ok := serve(f, httptest.NewRequest("GET", "/api/v2/accounts/acct/calls/c-1", nil), "c-1")
	if !ok || w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "did not answer") {
		t.Fatalf("owner down: %v %d %s", ok, w.Code, w.Body)
	}
	// Stopped beating: 503 without trying.
	old := now.Add(-time.Hour)
	if err := st.RegisterNode(context.Background(), store.Node{ID: "node-b", APIURL: "http://" + addr, StartedAt: old, HeartbeatAt: old}); err != nil {
		t.Fatal(err)
	}
	w, ok = serve(f, httptest.NewRequest("GET", "/api/v2/accounts/acct/calls/c-1", nil), "c-1")
	if !ok || w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "node-b") {
		t.Fatalf("owner dead: %v %d %s", ok, w.Code, w.Body)
	}
}
