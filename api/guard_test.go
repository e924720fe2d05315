package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// newGuardedEnv is newEnv with an HTTP guard and a SIP guard, and the
// account operating the node when admin is set.
func newGuardedEnv(t *testing.T, admin bool) (*env, *guard.Guard, *guard.Guard) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDatabase(ctx, t.TempDir(), testenv.StoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		if err := st.SetAccountFeatures(ctx, acct.ID, []string{store.FeatureAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	creds, err := st.CreateClient(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	hg := guard.New(guard.Config{Zone: "http", FloodLimit: -1, AuthLimit: 3})
	sg := guard.New(guard.Config{Zone: "sip"})
	s := New(Config{Store: st, SIPDomain: testDomain, TokenKey: []byte("0123456789abcdef0123456789abcdef"), Logger: slog.New(slog.DiscardHandler),
		Guard: hg, Bans: []BanList{sg, hg}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st, creds: creds}
	e.token = e.getToken(creds.ClientID, creds.ClientSecret)
	return e, hg, sg
}

// Guessing a client secret gets the source banned from authenticating: 429
// with Retry-After, even with the right secret, until an operator lifts it.
func TestAPIAuthFailuresBanTheSource(t *testing.T) {
	e, hg, _ := newGuardedEnv(t, true)
	token := func(secret string) *http.Response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(e.creds.ClientID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if r := token("guess"); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d", i, r.StatusCode)
		}
	}
	if r := token("guess"); r.StatusCode != 401 || !hg.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Fatalf("fourth guess: %d, banned %v", r.StatusCode, hg.Banned(netip.MustParseAddr("127.0.0.1")))
	}
	r := token(e.creds.ClientSecret)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right secret from a banned source: %d (Retry-After %q)", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Basic auth on the Voice API is refused too: the source is banned from
	// authenticating at all.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v2/accounts/"+e.creds.AccountID+"/calls", nil)
	req.SetBasicAuth(e.creds.ClientID, e.creds.ClientSecret)
	if code := e.do(req, nil); code != 429 {
		t.Fatalf("Voice API with Basic from a banned source: %d", code)
	}
	// The operator's ban list shows it; lifting it lets the client back in.
	hg.Unban(netip.MustParseAddr("127.0.0.1")) // the operator's own requests come from the banned address here
	var list struct {
		Bans []BanView `json:"bans"`
	}
	hg.Ban(netip.MustParseAddr("203.0.113.9"), time.Minute)
	if code := e.call("GET", "/api/v1/bans", nil, &list); code != 200 || len(list.Bans) != 1 || list.Bans[0].Address != "203.0.113.9" || list.Bans[0].Zone != "http" || list.Bans[0].Reason != "manual" {
		t.Fatalf("bans: %d %+v", code, list)
	}
	if code := e.call("DELETE", "/api/v1/bans/203.0.113.9", nil, nil); code != 204 {
		t.Fatalf("lift: %d", code)
	}
	if code := e.call("DELETE", "/api/v1/bans/203.0.113.9", nil, nil); code != 404 {
		t.Fatalf("lift again: %d", code)
	}
	if code := e.call("DELETE", "/api/v1/bans/not-an-ip", nil, nil); code != 400 {
		t.Fatalf("lift a non-address: %d", code)
	}
	if r := token(e.creds.ClientSecret); r.StatusCode != 200 {
		t.Fatalf("after the lift: %d", r.StatusCode)
	}
}

// The ban routes are the operator's: an account without the admin feature
// gets 403; SIP bans are listed beside HTTP ones.
func TestBansNeedAdmin(t *testing.T) {
	e, _, _ := newGuardedEnv(t, false)
	if code := e.call("GET", "/api/v1/bans", nil, nil); code != 403 {
		t.Fatalf("list without admin: %d", code)
	}
	e2, _, sg2 := newGuardedEnv(t, true)
	sg2.Ban(netip.MustParseAddr("198.51.100.4"), 0)
	var list struct {
		Bans []BanView `json:"bans"`
	}
	if code := e2.call("GET", "/api/v1/bans", nil, &list); code != 200 || len(list.Bans) != 1 || list.Bans[0].Zone != "sip" {
		t.Fatalf("sip bans: %d %+v", code, list)
	}
}
