package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// Account owns applications, clients and calls.
type Account struct {
	ID        string    `db:"id"`
	Features  string    `db:"features"`
	CreatedAt time.Time `db:"created_at"`
}

// HasFeature reports whether the account is entitled to a feature (comma list).
func (a Account) HasFeature(f string) bool {
	for _, x := range strings.Split(a.Features, ",") {
		if strings.TrimSpace(x) == f {
			return true
		}
	}
	return false
}

// Credentials are an API client's ID and secret; the secret exists in clear
// only in the value returned at creation.
type Credentials struct {
	AccountID    string `json:"accountId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

var accountIDPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ValidAccountID reports whether id may name an account.
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }

// newAccountID makes a 7-digit numeric ID like Bandwidth's, so generated SDKs
// and existing backends see a familiar shape.
func newAccountID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000))
	if err != nil {
		return "", fmt.Errorf("account id: %w", err)
	}
	return fmt.Sprint(1_000_000 + n.Int64()), nil
}

// CreateAccount creates an account; an empty id gets a generated one.
func (s *Store) CreateAccount(ctx context.Context, id string) (Account, error) {
	for attempt := 0; ; attempt++ {
		a := Account{ID: id, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		if a.ID == "" {
			gen, err := newAccountID()
			if err != nil {
				return Account{}, err
			}
			a.ID = gen
		} else if !ValidAccountID(a.ID) {
			return Account{}, fmt.Errorf("account id %q: use 1-64 letters, digits, _ or -", a.ID)
		}
		_, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO accounts (id, features, created_at) VALUES (?, ?, ?)"), a.ID, a.Features, a.CreatedAt)
		if err == nil {
			return a, nil
		}
		if isUniqueViolation(err) {
			if id != "" || attempt > 5 {
				return Account{}, fmt.Errorf("create account %s: %w", a.ID, ErrConflict)
			}
			continue
		}
		return Account{}, fmt.Errorf("create account: %w", err)
	}
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, s.rebind("SELECT id, features, created_at FROM accounts WHERE id = ?"), id)
	if err != nil {
		return Account{}, notFound(err, "account "+id)
	}
	return a, nil
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	var as []Account
	if err := s.db.SelectContext(ctx, &as, "SELECT id, features, created_at FROM accounts ORDER BY created_at, id"); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return as, nil
}

// SetAccountFeatures replaces the account's feature list.
func (s *Store) SetAccountFeatures(ctx context.Context, id string, features []string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("UPDATE accounts SET features = ? WHERE id = ?"), strings.Join(features, ","), id)
	if err != nil {
		return fmt.Errorf("set features of account %s: %w", id, err)
	}
	return mustAffect(res, "account "+id)
}

// CreateClient makes an API client for the account and returns its secret in
// clear, once. Secrets are 32 random bytes, so a plain SHA-256 is enough to
// store them (no password stretching needed, and Basic auth stays cheap).
func (s *Store) CreateClient(ctx context.Context, accountID string) (Credentials, error) {
	idb := make([]byte, 12)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return Credentials{}, fmt.Errorf("client id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Credentials{}, fmt.Errorf("client secret: %w", err)
	}
	c := Credentials{
		AccountID:    accountID,
		ClientID:     "wv_" + hex.EncodeToString(idb),
		ClientSecret: base64.RawURLEncoding.EncodeToString(secret),
	}
	_, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO api_clients (id, account_id, secret_hash, created_at) VALUES (?, ?, ?, ?)"),
		c.ClientID, accountID, hashSecret(c.ClientSecret), time.Now().UTC())
	if err != nil {
		if isForeignKeyViolation(err) {
			return Credentials{}, fmt.Errorf("create client for account %s: %w", accountID, ErrNotFound)
		}
		return Credentials{}, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// ErrBadCredentials is returned for an unknown client or a wrong secret; the
// two are not told apart.
var ErrBadCredentials = errors.New("bad client credentials")

// VerifyClient checks a client's secret and returns its account ID.
func (s *Store) VerifyClient(ctx context.Context, clientID, secret string) (string, error) {
	var row struct {
		AccountID  string `db:"account_id"`
		SecretHash string `db:"secret_hash"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind("SELECT account_id, secret_hash FROM api_clients WHERE id = ?"), clientID)
	if err != nil {
		if isNotFound(notFound(err, "")) {
			return "", ErrBadCredentials
		}
		return "", fmt.Errorf("verify client: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(row.SecretHash), []byte(hashSecret(secret))) != 1 {
		return "", ErrBadCredentials
	}
	return row.AccountID, nil
}

// ClientAccount returns the account of a client that still exists.
func (s *Store) ClientAccount(ctx context.Context, clientID string) (string, error) {
	var acct string
	err := s.db.GetContext(ctx, &acct, s.rebind("SELECT account_id FROM api_clients WHERE id = ?"), clientID)
	if err != nil {
		return "", notFound(err, "client "+clientID)
	}
	return acct, nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
