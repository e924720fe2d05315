package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Setting returns the node setting called name, creating it with generate()
// the first time. Concurrent first calls agree on one value.
func (s *Store) Setting(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var v string
	err := s.db.GetContext(ctx, &v, s.rebind("SELECT value FROM settings WHERE name = ?"), name)
	if err == nil {
		return v, nil
	}
	if err := notFound(err, "setting "+name); !isNotFound(err) {
		return "", err
	}
	nv, err := generate()
	if err != nil {
		return "", fmt.Errorf("generate setting %s: %w", name, err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"), name, nv); err != nil {
		return "", fmt.Errorf("store setting %s: %w", name, err)
	}
	if err := s.db.GetContext(ctx, &v, s.rebind("SELECT value FROM settings WHERE name = ?"), name); err != nil {
		return "", fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, nil
}

// Key returns the random 32-byte key kept as setting name (the API's token
// key, the SIP nonce key), generating it the first time.
func (s *Store) Key(ctx context.Context, name string) ([]byte, error) {
	v, err := s.Setting(ctx, name, func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	})
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("setting %s is corrupt", name)
	}
	return b, nil
}
