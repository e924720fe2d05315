package store

import (
	"context"
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
