package bandwidthclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The two ways a Bandwidth client authenticates against wasmvoice. Never
// use a client's built-in OAuth mode: it posts the client secret to
// Bandwidth's fixed token URL whatever base URL is set.

// BasicAuth sends the API client's ID and secret with every request, as
// Bandwidth's Basic auth mode does (wasmvoice takes it on every Voice route).
func BasicAuth(clientID, clientSecret string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.SetBasicAuth(clientID, clientSecret)
		return nil
	}
}

// TokenAuth gets access tokens (OAuth2 client credentials) from wasmvoice's
// token endpoint, tokenURL (https://<host>/api/v1/oauth2/token), and sends
// them as Bearer tokens, fetching a new one shortly before each expires. It
// is the access-token hook of a generated client, pointed at our endpoint.
func TokenAuth(tokenURL, clientID, clientSecret string) RequestEditorFn {
	t := &tokenSource{url: tokenURL, id: clientID, secret: clientSecret}
	return func(ctx context.Context, req *http.Request) error {
		tok, err := t.token(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

type tokenSource struct {
	url, id, secret string

	mu      sync.Mutex
	tok     string
	renewAt time.Time
}

func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && time.Now().Before(t.renewAt) {
		return t.tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(t.id, t.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token response: %v", err)
	}
	// Renew a minute early, so a token never expires on its way.
	t.tok, t.renewAt = body.AccessToken, time.Now().Add(time.Duration(body.ExpiresIn)*time.Second-time.Minute)
	return t.tok, nil
}
