package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// TokenTTL is how long an access token lives.
const TokenTTL = time.Hour

// tokenSigner makes self-contained access tokens: an HMAC over the client,
// account and expiry. Verifying costs no database read; the client is still
// looked up so deleting a client revokes its tokens.
type tokenSigner struct{ key []byte }

type tokenClaims struct {
	Client  string `json:"c"`
	Account string `json:"a"`
	Expires int64  `json:"e"`
}

// errBadToken is a token this node did not sign (forged or mangled);
// errTokenExpired one it signed that has expired. Callers see the same text.
var (
	errBadToken     = errors.New("invalid or expired access token")
	errTokenExpired = errors.New("invalid or expired access token")
)

func (t tokenSigner) sign(c tokenClaims) string {
	body, _ := json.Marshal(c) // a struct of strings and an int always marshals
	payload := base64.RawURLEncoding.EncodeToString(body)
	return "wv1." + payload + "." + t.mac(payload)
}

func (t tokenSigner) mac(payload string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (t tokenSigner) verify(token string, now time.Time) (tokenClaims, error) {
	rest, ok := strings.CutPrefix(token, "wv1.")
	if !ok {
		return tokenClaims{}, errBadToken
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.mac(payload))) {
		return tokenClaims{}, errBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return tokenClaims{}, errBadToken
	}
	var c tokenClaims
	if err := json.Unmarshal(body, &c); err != nil || c.Client == "" || c.Account == "" {
		return tokenClaims{}, errBadToken
	}
	if now.Unix() >= c.Expires {
		return tokenClaims{}, errTokenExpired
	}
	return c, nil
}
