package api

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/store"
)

type principalKey struct{}

// Principal is who made an authenticated request.
type Principal struct {
	AccountID string
	ClientID  string
}

var (
	bearerOnly  = []map[string][]string{{"bearerAuth": {}}}
	bearerBasic = []map[string][]string{{"bearerAuth": {}}, {"basicAuth": {}}}
	// bearerAPIKey: the Bland-style /v1/sip routes also take an API key.
	bearerAPIKey = []map[string][]string{{"bearerAuth": {}}, {"apiKey": {}}}
)

// authMiddleware enforces each operation's declared security: a bearer token
// (and HTTP Basic client credentials where the operation lists basicAuth, as
// the Voice API does), then that the path's account is the caller's.
func (s *Server) authMiddleware(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		if op != nil && op.Hidden { // the console's sign-in checks where it was posted from
			ctx = huma.WithValue(ctx, requestMetaKey{}, requestMeta{host: ctx.Host(), origin: ctx.Header("Origin"), tls: ctx.TLS() != nil})
		}
		next(ctx)
		return
	}
	if err := s.throttled(ctx.Context()); err != nil {
		ctx.SetHeader("Retry-After", strconv.Itoa(int(guard.DefaultBanTime.Seconds())))
		huma.WriteErr(s.api, ctx, http.StatusTooManyRequests, err.Error())
		return
	}
	var (
		p      Principal
		status int
		msg    string
	)
	if h := ctx.Header("Authorization"); h != "" {
		p, status, msg = s.authenticate(ctx.Context(), h, allowsBasic(op), allowsScheme(op, "apiKey"))
	} else {
		// No Authorization header: the web console's session, if any,
		// with the same rights as its client's token.
		var sess store.Session
		var id string
		if p, sess, id, status, msg = s.sessionAuth(ctx.Context(), ctx); status == 0 && p.AccountID != "" {
			ctx = huma.WithValue(huma.WithValue(ctx, sessionKey{}, sess), sessionIDKey{}, id)
		} else if status == 0 {
			p, status, msg = s.authenticate(ctx.Context(), "", false, false)
		}
	}
	if status != 0 {
		if status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="wasmvoice"`)
		}
		huma.WriteErr(s.api, ctx, status, msg)
		return
	}
	if acct := ctx.Param("accountId"); strings.Contains(op.Path, "{accountId}") && acct != p.AccountID {
		huma.WriteErr(s.api, ctx, http.StatusForbidden, "the credentials do not belong to account "+acct)
		return
	}
	next(huma.WithValue(ctx, principalKey{}, p))
}

func allowsBasic(op *huma.Operation) bool { return allowsScheme(op, "basicAuth") }

func allowsScheme(op *huma.Operation, scheme string) bool {
	return slices.ContainsFunc(op.Security, func(m map[string][]string) bool { _, ok := m[scheme]; return ok })
}

func (s *Server) authenticate(ctx context.Context, header string, basicOK, apiKeyOK bool) (Principal, int, string) {
	if header == "" {
		return Principal{}, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>"
	}
	// API keys (store.APIKeyPrefix) on routes that list the apiKey scheme:
	// Bland-style clients send the raw key, others put it after Bearer.
	// Access tokens never start with that prefix, so the two cannot clash.
	if key := strings.TrimSpace(header); apiKeyOK {
		if k, ok := cutPrefixFold(key, "bearer "); ok {
			key = strings.TrimSpace(k)
		}
		if strings.HasPrefix(key, store.APIKeyPrefix) {
			k, err := s.cfg.Store.VerifyAPIKey(ctx, key)
			if errors.Is(err, store.ErrBadAPIKey) {
				s.authFailed(ctx, "")
				return Principal{}, http.StatusUnauthorized, "unknown or revoked API key"
			}
			if err != nil {
				s.log.ErrorContext(ctx, "verify api key", "error", err)
				return Principal{}, http.StatusInternalServerError, "credentials could not be checked"
			}
			return Principal{AccountID: k.AccountID, ClientID: k.ID}, 0, ""
		}
	}
	if tok, ok := cutPrefixFold(header, "bearer "); ok {
		c, err := s.tokens.verify(strings.TrimSpace(tok), time.Now())
		if err != nil {
			if !errors.Is(err, errTokenExpired) {
				s.authFailed(ctx, "") // a forged or mangled token, not an old one
			}
			return Principal{}, http.StatusUnauthorized, err.Error()
		}
		acct, err := s.cfg.Store.ClientAccount(ctx, c.Client)
		if err != nil || acct != c.Account {
			return Principal{}, http.StatusUnauthorized, "the client of this token no longer exists"
		}
		return Principal{AccountID: c.Account, ClientID: c.Client}, 0, ""
	}
	if id, secret, ok := parseBasic(header); ok && basicOK {
		acct, err := s.cfg.Store.VerifyClient(ctx, id, secret)
		if errors.Is(err, store.ErrBadCredentials) {
			s.authFailed(ctx, "client:"+id)
			return Principal{}, http.StatusUnauthorized, "unknown client or wrong secret"
		}
		if err != nil {
			s.log.ErrorContext(ctx, "verify client", "error", err)
			return Principal{}, http.StatusInternalServerError, "credentials could not be checked"
		}
		return Principal{AccountID: acct, ClientID: id}, 0, ""
	}
	return Principal{}, http.StatusUnauthorized, "unsupported Authorization scheme: use Bearer"
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// principal returns the caller of an authenticated operation.
func principal(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }
