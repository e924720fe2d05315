package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// DefaultKVMaxKeys caps the keys of one application's key-value store.
const DefaultKVMaxKeys = 1024

// ErrKVFull is returned by AppKV.Set when a new key would pass MaxKeys.
var ErrKVFull = errors.New("key-value store full")

// AppKV is the per-application key-value store: the Wasm guests reach it
// through kv_get and kv_set (it implements wasmhost.KV), operators through
// the API. Key and value sizes are the callers' limits (sdk.DefaultMaxKV*);
// AppKV caps the number of keys per application.
type AppKV struct {
	Store   *Store
	MaxKeys int // 0: DefaultKVMaxKeys
}

// KVEntry is one key with its value and when it was last written.
type KVEntry struct {
	Key       string    `db:"k"`
	Value     []byte    `db:"v"`
	UpdatedAt time.Time `db:"updated_at"`
}

// KVPage is one page of an application's entries in key order (bytewise).
type KVPage struct {
	Entries       []KVEntry
	NextPageToken string // empty on the last page
}

// Get returns the value of key in app's store.
func (kv AppKV) Get(ctx context.Context, app, key string) ([]byte, bool, error) {
	var v []byte
	err := kv.Store.db.GetContext(ctx, &v, kv.Store.rebind("SELECT v FROM app_kv WHERE application_id = ? AND k = ?"), app, []byte(key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("kv get: %w", err)
	}
	return v, true, nil
}

// Entry returns key's entry in app's store, or ErrNotFound.
func (kv AppKV) Entry(ctx context.Context, app, key string) (KVEntry, error) {
	var e KVEntry
	err := kv.Store.db.GetContext(ctx, &e, kv.Store.rebind("SELECT k, v, updated_at FROM app_kv WHERE application_id = ? AND k = ?"), app, []byte(key))
	if err != nil {
		return KVEntry{}, notFound(err, "kv entry")
	}
	return e, nil
}

// Set writes key in app's store; a new key past MaxKeys is ErrKVFull.
func (kv AppKV) Set(ctx context.Context, app, key string, val []byte) error {
	_, err := kv.Put(ctx, app, key, val)
	return err
}

// Put is Set returning the entry as written, so a caller can show what it
// stored without a second read that a guest's write could overtake.
func (kv AppKV) Put(ctx context.Context, app, key string, val []byte) (KVEntry, error) {
	return retryBusy(ctx, kv.Store, func() (KVEntry, error) { return kv.put(ctx, app, key, val) })
}

// put is one attempt of Put: the key count and the write in one checked
// transaction, so concurrent writers never pass MaxKeys.
func (kv AppKV) put(ctx context.Context, app, key string, val []byte) (KVEntry, error) {
	max := kv.MaxKeys
	if max <= 0 {
		max = DefaultKVMaxKeys
	}
	if val == nil {
		val = []byte{}
	}
	tx, err := kv.Store.beginCheckedTx(ctx)
	if err != nil {
		return KVEntry{}, fmt.Errorf("kv set: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Millisecond) // as PostgreSQL (microseconds) returns it too
	res, err := tx.ExecContext(ctx, kv.Store.rebind("UPDATE app_kv SET v = ?, updated_at = ? WHERE application_id = ? AND k = ?"), val, now, app, []byte(key))
	if err != nil {
		return KVEntry{}, fmt.Errorf("kv set: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var count int
		if err := tx.GetContext(ctx, &count, kv.Store.rebind("SELECT COUNT(*) FROM app_kv WHERE application_id = ?"), app); err != nil {
			return KVEntry{}, fmt.Errorf("kv set: %w", err)
		}
		if count >= max {
			return KVEntry{}, fmt.Errorf("kv set: application %s has %d keys: %w", app, count, ErrKVFull)
		}
		if _, err := tx.ExecContext(ctx, kv.Store.rebind("INSERT INTO app_kv (application_id, k, v, updated_at) VALUES (?, ?, ?, ?)"), app, []byte(key), val, now); err != nil {
			if isForeignKeyViolation(err) {
				return KVEntry{}, fmt.Errorf("kv set: application %s: %w", app, ErrNotFound)
			}
			return KVEntry{}, fmt.Errorf("kv set: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return KVEntry{}, fmt.Errorf("kv set: %w", err)
	}
	return KVEntry{Key: key, Value: val, UpdatedAt: now}, nil
}

// Delete removes key from app's store, or returns ErrNotFound.
func (kv AppKV) Delete(ctx context.Context, app, key string) error {
	res, err := kv.Store.db.ExecContext(ctx, kv.Store.rebind("DELETE FROM app_kv WHERE application_id = ? AND k = ?"), app, []byte(key))
	if err != nil {
		return fmt.Errorf("kv delete: %w", err)
	}
	return mustAffect(res, "kv delete")
}

// Entries lists app's entries in key order, pageSize at a time (default
// 100), from the page pageToken names (a previous page's NextPageToken; ""
// for the first). A token this server did not make is ErrBadPageToken.
func (kv AppKV) Entries(ctx context.Context, app string, pageSize int, pageToken string) (KVPage, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	q := "SELECT k, v, updated_at FROM app_kv WHERE application_id = ?"
	args := []any{app}
	if pageToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(after) == 0 {
			return KVPage{}, ErrBadPageToken
		}
		q += " AND k > ?"
		args = append(args, after)
	}
	q += " ORDER BY k LIMIT ?"
	args = append(args, pageSize+1)
	var page KVPage
	if err := kv.Store.db.SelectContext(ctx, &page.Entries, kv.Store.rebind(q), args...); err != nil {
		return KVPage{}, fmt.Errorf("kv list: %w", err)
	}
	if len(page.Entries) > pageSize {
		page.Entries = page.Entries[:pageSize]
		page.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(page.Entries[pageSize-1].Key))
	}
	return page, nil
}
