package api

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestConsoleSession: a console session authenticates API requests as its
// client's token does; a change needs the CSRF token and a same-site
// Origin; signing out ends it.
func TestConsoleSession(t *testing.T) {
	e := newEnv(t)
	apps := e.srv.URL + "/v2/accounts/" + e.creds.AccountID + "/voice-applications"
	send := func(method, url, body, cookie, csrf, origin string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if cookie != "" {
			req.Header.Set("Cookie", SessionCookie+"="+cookie)
		}
		if csrf != "" {
			req.Header.Set(CSRFHeader, csrf)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}

	if code, _ := send("POST", e.srv.URL+"/console/session", `{"clientId":"`+e.creds.ClientID+`","clientSecret":"wrong"}`, "", "", ""); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code, _ := send("POST", e.srv.URL+"/console/session", `{"clientId":"`+e.creds.ClientID+`","clientSecret":"`+e.creds.ClientSecret+`"}`, "", "", "http://evil.example"); code != 403 {
		t.Fatalf("cross-site sign-in: %d", code)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/session", strings.NewReader(`{"clientId":"`+e.creds.ClientID+`","clientSecret":"`+e.creds.ClientSecret+`"}`))
	req.Header.Set("Content-Type", "application/json")
	var info SessionInfo
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in: %d %+v", resp.StatusCode, cookie)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/console/session", nil)
	req.AddCookie(cookie)
	if code := e.do(req, &info); code != 200 || !info.SignedIn || info.CSRFToken == "" || info.AccountID != e.creds.AccountID {
		t.Fatalf("session: %d %+v", code, info)
	}

	var none SessionInfo
	if code := e.do(must(http.NewRequest("GET", e.srv.URL+"/console/session", nil)), &none); code != 200 || none.SignedIn || none.CSRFToken != "" {
		t.Fatalf("not signed in: %d %+v", code, none)
	}
	origin := e.srv.URL
	for _, c := range []struct {
		name                      string
		method, url, body, cookie string
		csrf, origin              string
		want                      int
	}{
		{"unauthenticated read", "GET", apps, "", "", "", "", 401},
		{"session read", "GET", apps, "", cookie.Value, "", "", 200},
		{"unknown session", "GET", apps, "", "nope", "", "", 401},
		{"change without CSRF token", "POST", apps, `{"applicationName":"x"}`, cookie.Value, "", origin, 403},
		{"change with a wrong CSRF token", "POST", apps, `{"applicationName":"x"}`, cookie.Value, "bad", origin, 403},
		{"change from another site", "POST", apps, `{"applicationName":"x"}`, cookie.Value, info.CSRFToken, "http://evil.example", 403},
		{"change", "POST", apps, `{"applicationName":"x"}`, cookie.Value, info.CSRFToken, origin, 201},
		{"other account", "GET", e.srv.URL + "/v2/accounts/someone-else/voice-applications", "", cookie.Value, "", "", 403},
		{"sign-out without CSRF token", "DELETE", e.srv.URL + "/console/session", "", cookie.Value, "", origin, 403},
		{"sign-out", "DELETE", e.srv.URL + "/console/session", "", cookie.Value, info.CSRFToken, origin, 204},
		{"after sign-out", "GET", apps, "", cookie.Value, "", "", 401},
	} {
		if code, _ := send(c.method, c.url, c.body, c.cookie, c.csrf, c.origin); code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, code, c.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSessionPrincipal: the console's event stream takes a session cookie
// or a bearer token, and nothing else.
func TestSessionPrincipal(t *testing.T) {
	e := newEnvWith(t, nil)
	srv := New(Config{Store: e.st, SIPDomain: testDomain, TokenKey: []byte("0123456789abcdef0123456789abcdef")})
	_, id, err := e.st.CreateSession(t.Context(), e.creds.ClientID, e.creds.AccountID, SessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	tok := srv.tokens.sign(tokenClaims{Client: e.creds.ClientID, Account: e.creds.AccountID, Expires: time.Now().Add(time.Minute).Unix()})
	for _, c := range []struct {
		name, header, value string
		want                int
	}{
		{"nothing", "", "", http.StatusUnauthorized},
		{"session", "Cookie", SessionCookie + "=" + id, 0},
		{"unknown session", "Cookie", SessionCookie + "=x", http.StatusUnauthorized},
		{"bearer", "Authorization", "Bearer " + tok, 0},
		{"basic", "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(e.creds.ClientID+":"+e.creds.ClientSecret)), http.StatusUnauthorized},
	} {
		r := httptest.NewRequest("GET", "/console/events", nil)
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		p, status, _ := srv.SessionPrincipal(r)
		if status != c.want || (status == 0 && p.AccountID != e.creds.AccountID) {
			t.Errorf("%s: %d %+v", c.name, status, p)
		}
	}
}
