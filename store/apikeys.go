package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIKeyPrefix starts every API key, so a key is recognisable in an
// Authorization header (where Bland-style clients send it raw) and in a
// secret scanner's rules.
const APIKeyPrefix = "wvk_"

// ErrBadAPIKey is returned for a key that does not exist (or was deleted).
var ErrBadAPIKey = errors.New("unknown API key")

// APIKey is an account's API key; the key itself exists in clear only in the
// value CreateAPIKey returns.
type APIKey struct {
	ID        string    `db:"id"`
	AccountID string    `db:"account_id"`
	Name      string    `db:"name"`
	CreatedAt time.Time `db:"created_at"`
}

// CreateAPIKey makes an API key for the account and returns it in clear,
// once. Keys carry 32 random bytes, so a plain SHA-256 stored under a unique
// index is enough to find and check them.
func (s *Store) CreateAPIKey(ctx context.Context, accountID, name string) (APIKey, string, error) {
	if len(name) > 256 {
		return APIKey{}, "", invalid("name", name, "must be at most 256 characters")
	}
	idb := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return APIKey{}, "", fmt.Errorf("api key id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return APIKey{}, "", fmt.Errorf("api key: %w", err)
	}
	k := APIKey{ID: "key_" + hex.EncodeToString(idb), AccountID: accountID, Name: name, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	key := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(secret)
	_, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO api_keys (id, account_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)"),
		k.ID, k.AccountID, k.Name, hashSecret(key), k.CreatedAt)
	if err != nil {
		if isForeignKeyViolation(err) {
			return APIKey{}, "", fmt.Errorf("create api key for account %s: %w", accountID, ErrNotFound)
		}
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, key, nil
}

// VerifyAPIKey returns the key a secret belongs to, or ErrBadAPIKey.
func (s *Store) VerifyAPIKey(ctx context.Context, key string) (APIKey, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) > 128 {
		return APIKey{}, ErrBadAPIKey
	}
	var k APIKey
	err := s.db.GetContext(ctx, &k, s.rebind("SELECT id, account_id, name, created_at FROM api_keys WHERE key_hash = ?"), hashSecret(key))
	if err != nil {
		if isNotFound(notFound(err, "")) {
			return APIKey{}, ErrBadAPIKey
		}
		return APIKey{}, fmt.Errorf("verify api key: %w", err)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return k, nil
}

// APIKeys lists an account's keys (never the keys themselves), oldest first.
func (s *Store) APIKeys(ctx context.Context, accountID string) ([]APIKey, error) {
	var ks []APIKey
	if err := s.db.SelectContext(ctx, &ks, s.rebind("SELECT id, account_id, name, created_at FROM api_keys WHERE account_id = ? ORDER BY created_at, id"), accountID); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// DeleteAPIKey revokes a key of an account at once.
func (s *Store) DeleteAPIKey(ctx context.Context, accountID, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM api_keys WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return mustAffect(res, "api key "+id)
}
