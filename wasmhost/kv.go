package wasmhost

import (
	"context"
	"errors"
	"sync"
)

// KV is the per-application key-value store behind kv_get and kv_set. The
// host enforces key and value sizes before calling it; implementations must
// honour ctx (it carries the event deadline).
type KV interface {
	Get(ctx context.Context, app, key string) ([]byte, bool, error)
	Set(ctx context.Context, app, key string, val []byte) error
}

// ErrKVFull is returned by MemKV when an application has MaxKeys keys.
var ErrKVFull = errors.New("wasmhost: kv store full")

// MemKV is an in-memory KV for tests and single-node experiments.
type MemKV struct {
	// MaxKeys caps the keys per application (0: unlimited).
	MaxKeys int

	mu   sync.Mutex
	apps map[string]map[string][]byte
}

var _ KV = (*MemKV)(nil)

// Get returns a copy of the value.
func (m *MemKV) Get(ctx context.Context, app, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.apps[app][key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// Set stores a copy of val.
func (m *MemKV) Set(ctx context.Context, app, key string, val []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apps == nil {
		m.apps = map[string]map[string][]byte{}
	}
	a := m.apps[app]
	if a == nil {
		a = map[string][]byte{}
		m.apps[app] = a
	}
	if _, exists := a[key]; !exists && m.MaxKeys > 0 && len(a) >= m.MaxKeys {
		return ErrKVFull
	}
	a[key] = append([]byte(nil), val...)
	return nil
}
