package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// The web console signs in with an API client's credentials and keeps a
// server-side session (store.Session) in an HttpOnly, SameSite=Strict
// cookie. A session authenticates API requests exactly as that client's
// access token would: the same operations, the same account check, the same
// rights. A request that changes anything must also carry the session's
// CSRF token in X-CSRF-Token, and its Origin (browsers send one on every
// such request) must be this host: a page of another site can neither read
// the token nor pass the Origin check.

// SessionCookie is the console session cookie's name.
const SessionCookie = "wv_session"

// CSRFHeader carries the session's CSRF token on every request that
// changes something.
const CSRFHeader = "X-CSRF-Token"

// SessionTTL is how long a console session lives.
const SessionTTL = 12 * time.Hour

// SessionInfo is the signed-in console session as the page sees it.
type SessionInfo struct {
	SignedIn  bool      `json:"signedIn"`
	AccountID string    `json:"accountId" example:"9900000"`
	ClientID  string    `json:"clientId" example:"cl_2f7c8a..."`
	CSRFToken string    `json:"csrfToken" doc:"Send it back in the X-CSRF-Token header on every request that changes something."`
	ExpiresAt time.Time `json:"expiresAt"`
}

type signInInput struct {
	Body struct {
		ClientID     string `json:"clientId" minLength:"1" maxLength:"128"`
		ClientSecret string `json:"clientSecret" minLength:"1" maxLength:"256"`
	}
}

type sessionOutput struct {
	SetCookie    http.Cookie `header:"Set-Cookie"`
	CacheControl string      `header:"Cache-Control"`
	Body         SessionInfo
}

type signOutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

// requestView is what session checks read of a request; both huma.Context
// and httpRequest provide it.
type requestView interface {
	Method() string
	Host() string
	Header(name string) string
}

type httpRequest struct{ r *http.Request }

// cookieOnly is a GET request that carries only these cookies.
type cookieOnly string

func (cookieOnly) Method() string { return http.MethodGet }
func (cookieOnly) Host() string   { return "" }
func (c cookieOnly) Header(name string) string {
	if name == "Cookie" {
		return string(c)
	}
	return ""
}

func (h httpRequest) Method() string            { return h.r.Method }
func (h httpRequest) Host() string              { return h.r.Host }
func (h httpRequest) Header(name string) string { return h.r.Header.Get(name) }

func registerSessions(s *Server) {
	// The console's own routes: not part of the API a client programs
	// against, so they stay out of the OpenAPI document.
	huma.Register(s.api, huma.Operation{
		OperationID: "createConsoleSession", Method: http.MethodPost, Path: "/console/session", Hidden: true,
		Summary: "Sign in to the web console", MaxBodyBytes: 4 << 10,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests},
	}, s.signIn)
	// Whether the browser is signed in: answered 200 either way, so the
	// page's first question logs no failed request.
	huma.Register(s.api, huma.Operation{
		OperationID: "getConsoleSession", Method: http.MethodGet, Path: "/console/session", Hidden: true,
		Summary: "The signed-in console session",
	}, func(ctx context.Context, in *struct {
		Cookie string `header:"Cookie"`
	}) (*struct {
		CacheControl string `header:"Cache-Control"`
		Body         SessionInfo
	}, error) {
		if err := s.throttled(ctx); err != nil {
			return nil, err
		}
		out := &struct {
			CacheControl string `header:"Cache-Control"`
			Body         SessionInfo
		}{CacheControl: "no-store"}
		_, sess, _, status, _ := s.sessionAuth(ctx, cookieOnly(in.Cookie))
		if status == http.StatusInternalServerError {
			return nil, s.internal(ctx, errors.New("look up session"))
		}
		if status == 0 && sess.ClientID != "" {
			out.Body = sessionInfo(sess)
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteConsoleSession", Method: http.MethodDelete, Path: "/console/session", Hidden: true,
		Summary: "Sign out of the web console", Security: bearerOnly, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, _ *struct{}) (*signOutOutput, error) {
		if id, ok := ctx.Value(sessionIDKey{}).(string); ok {
			if err := s.cfg.Store.DeleteSession(ctx, id); err != nil {
				return nil, s.internal(ctx, err)
			}
		}
		return &signOutOutput{SetCookie: http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode}}, nil
	})
}

type sessionKey struct{}
type sessionIDKey struct{}

func sessionInfo(sess store.Session) SessionInfo {
	return SessionInfo{SignedIn: true, AccountID: sess.AccountID, ClientID: sess.ClientID, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt}
}

func (s *Server) signIn(ctx context.Context, in *signInInput) (*sessionOutput, error) {
	if err := s.throttled(ctx); err != nil {
		return nil, err
	}
	if origin := originOf(ctx); origin != "" && origin != requestHost(ctx) {
		return nil, huma.Error403Forbidden("sign-in from another site is refused")
	}
	acct, err := s.cfg.Store.VerifyClient(ctx, in.Body.ClientID, in.Body.ClientSecret)
	if errors.Is(err, store.ErrBadCredentials) {
		s.authFailed(ctx, "client:"+in.Body.ClientID)
		return nil, huma.Error401Unauthorized("unknown client or wrong secret")
	}
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	sess, id, err := s.cfg.Store.CreateSession(ctx, in.Body.ClientID, acct, SessionTTL)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	return &sessionOutput{
		SetCookie: http.Cookie{Name: SessionCookie, Value: id, Path: "/", MaxAge: int(SessionTTL.Seconds()),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(ctx)},
		CacheControl: "no-store",
		Body:         sessionInfo(sess),
	}, nil
}

// sessionAuth authenticates a request by its console session cookie. It
// answers 0 with no principal when the request has no session cookie.
func (s *Server) sessionAuth(ctx context.Context, r requestView) (Principal, store.Session, string, int, string) {
	id := cookieValue(r.Header("Cookie"), SessionCookie)
	if id == "" {
		return Principal{}, store.Session{}, "", 0, ""
	}
	sess, err := s.cfg.Store.LookupSession(ctx, id)
	if errors.Is(err, store.ErrNoSession) {
		return Principal{}, store.Session{}, "", http.StatusUnauthorized, "the console session has ended: sign in again"
	}
	if err != nil {
		s.log.ErrorContext(ctx, "look up session", "error", err)
		return Principal{}, store.Session{}, "", http.StatusInternalServerError, "credentials could not be checked"
	}
	if !safeMethod(r.Method()) {
		if o := r.Header("Origin"); o != "" && originHost(o) != r.Host() {
			return Principal{}, store.Session{}, "", http.StatusForbidden, "cross-site request refused (Origin " + o + ")"
		}
		tok := r.Header(CSRFHeader)
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRFToken)) != 1 {
			return Principal{}, store.Session{}, "", http.StatusForbidden, "missing or wrong " + CSRFHeader + " header"
		}
	}
	return Principal{AccountID: sess.AccountID, ClientID: sess.ClientID}, sess, id, 0, ""
}

// SessionPrincipal authenticates a plain HTTP request (the console's event
// stream) by its session cookie, or by a bearer token.
func (s *Server) SessionPrincipal(r *http.Request) (Principal, int, string) {
	r = withRemoteAddr(r)
	if err := s.throttled(r.Context()); err != nil {
		return Principal{}, http.StatusTooManyRequests, err.Error()
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return s.authenticate(r.Context(), h, false, false)
	}
	p, _, _, status, msg := s.sessionAuth(r.Context(), httpRequest{r})
	if status == 0 && p.AccountID == "" {
		return Principal{}, http.StatusUnauthorized, "authentication required: sign in to the console"
	}
	return p, status, msg
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func cookieValue(header, name string) string {
	if header == "" {
		return ""
	}
	cs, err := http.ParseCookie(header)
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// originHost is the host[:port] of an Origin header ("" when it is not a URL).
func originHost(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "\x00" // never equal to a Host
	}
	return u.Host
}

type requestMetaKey struct{}

// requestMeta is what the sign-in reads of its request beyond the body.
type requestMeta struct {
	host, origin string
	tls          bool
}

func originOf(ctx context.Context) string {
	m, _ := ctx.Value(requestMetaKey{}).(requestMeta)
	if m.origin == "" {
		return ""
	}
	return originHost(m.origin)
}

func requestHost(ctx context.Context) string {
	m, _ := ctx.Value(requestMetaKey{}).(requestMeta)
	return m.host
}

func isTLS(ctx context.Context) bool {
	m, _ := ctx.Value(requestMetaKey{}).(requestMeta)
	return m.tls
}
