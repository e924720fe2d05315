package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// oauthError is an RFC 6749 section 5.2 error response.
type oauthError struct {
	status      int
	Code        string `json:"error" enum:"invalid_request,invalid_client,unsupported_grant_type,invalid_grant"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string  { return e.Code + ": " + e.Description }
func (e *oauthError) GetStatus() int { return e.status }

// GetHeaders asks Basic-auth clients to authenticate, as RFC 6749 requires for 401.
func (e *oauthError) GetHeaders() http.Header {
	if e.status == http.StatusUnauthorized {
		return http.Header{"WWW-Authenticate": {`Basic realm="wasmvoice"`}}
	}
	return nil
}

type tokenInput struct {
	Authorization string `header:"Authorization" doc:"HTTP Basic with the client ID and secret (or send them as form fields)."`
	RawBody       []byte `contentType:"application/x-www-form-urlencoded"`
}

// TokenResponse is an RFC 6749 access token response.
type TokenResponse struct {
	AccessToken string `json:"access_token" example:"wv1.eyJj..."`
	TokenType   string `json:"token_type" example:"Bearer"`
	ExpiresIn   int    `json:"expires_in" example:"3600" doc:"Lifetime in seconds."`
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         TokenResponse
}

func registerOAuth(s *Server) {
	huma.Register(s.api, huma.Operation{
		OperationID:   "createToken",
		Method:        http.MethodPost,
		Path:          "/api/v1/oauth2/token",
		Summary:       "Get an access token",
		Description:   "OAuth2 client credentials grant (RFC 6749 section 4.4). Authenticate the client with HTTP Basic or the client_id and client_secret form fields.",
		Tags:          []string{"Auth"},
		MaxBodyBytes:  8 << 10,
		Errors:        []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests},
		DefaultStatus: http.StatusOK,
	}, s.createToken)
	// Huma knows RawBody only as bytes; describe the form for generated clients.
	op := s.api.OpenAPI().Paths["/api/v1/oauth2/token"].Post
	// An empty body must reach the handler to get RFC 6749's invalid_request.
	op.RequestBody.Required = false
	op.RequestBody.Content["application/x-www-form-urlencoded"].Schema = &huma.Schema{
		Type:     "object",
		Required: []string{"grant_type"},
		Properties: map[string]*huma.Schema{
			"grant_type":    {Type: "string", Enum: []any{"client_credentials"}, Examples: []any{"client_credentials"}},
			"client_id":     {Type: "string", Description: "Client ID, when not sent with HTTP Basic."},
			"client_secret": {Type: "string", Description: "Client secret, when not sent with HTTP Basic."},
			"scope":         {Type: "string", Description: "Ignored: a token carries its client's whole account."},
		},
	}
	for _, code := range []string{"400", "401"} {
		op.Responses[code].Content = map[string]*huma.MediaType{
			"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflectType[oauthError](), true, "OAuthError")},
		}
	}
}

func (s *Server) createToken(ctx context.Context, in *tokenInput) (*tokenOutput, error) {
	form, err := url.ParseQuery(string(in.RawBody))
	if err != nil {
		return nil, &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: "body is not application/x-www-form-urlencoded: " + err.Error()}
	}
	grant := form.Get("grant_type")
	switch grant {
	case "client_credentials":
	case "":
		return nil, &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: "grant_type is required"}
	default:
		return nil, &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "only grant_type=client_credentials is supported"}
	}
	id, secret, fromHeader := parseBasic(in.Authorization)
	if !fromHeader {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	} else if form.Get("client_secret") != "" {
		return nil, &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: "send client credentials with HTTP Basic or in the body, not both"}
	}
	if id == "" || secret == "" {
		return nil, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication is required"}
	}
	if err := s.throttled(ctx); err != nil {
		return nil, err
	}
	acct, err := s.cfg.Store.VerifyClient(ctx, id, secret)
	if errors.Is(err, store.ErrBadCredentials) {
		s.authFailed(ctx, "client:"+id)
		return nil, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "unknown client or wrong secret"}
	}
	if err != nil {
		return nil, huma.Error500InternalServerError("token", err)
	}
	tok := s.tokens.sign(tokenClaims{Client: id, Account: acct, Expires: time.Now().Add(TokenTTL).Unix()})
	return &tokenOutput{CacheControl: "no-store", Body: TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(TokenTTL.Seconds())}}, nil
}

// parseBasic decodes an HTTP Basic Authorization header.
func parseBasic(h string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	if !ok {
		return "", "", false
	}
	// RFC 6749 section 2.3.1: client ID and secret are form-encoded inside Basic.
	if u, err := url.QueryUnescape(user); err == nil {
		user = u
	}
	if p, err := url.QueryUnescape(pass); err == nil {
		pass = p
	}
	return user, pass, true
}
