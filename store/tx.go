package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
)

// busyRetries bounds how often a transaction runs again after a
// serialization failure or deadlock on PostgreSQL. SQLite waits for its lock
// inside the driver (_busy_timeout), so a busy SQLite is not retried here.
const busyRetries = 5

// beginCheckedTx starts a transaction that reads rows, decides, then writes
// (a limit, an "in use" check). SQLite's transactions take the write lock
// at BEGIN (_txlock=immediate), so such transactions never interleave; on
// PostgreSQL SERIALIZABLE gives the same outcome, at the price of
// serialization failures that retryBusy runs again.
func (s *Store) beginCheckedTx(ctx context.Context) (*sqlx.Tx, error) {
	var opts *sql.TxOptions
	if s.engine == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelSerializable}
	}
	return s.db.BeginTxx(ctx, opts)
}

// retryBusy runs f, again while it fails busy on PostgreSQL (up to
// busyRetries times, after a short random pause). A busy failure that
// remains is wrapped in ErrBusy on both engines. f must be a whole
// transaction: begun, and committed or rolled back, within it.
func retryBusy[T any](ctx context.Context, s *Store, f func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := f()
		if err == nil || !isBusy(err) {
			return v, err
		}
		if s.engine != Postgres || attempt >= busyRetries {
			return v, fmt.Errorf("%w: %w", ErrBusy, err)
		}
		pause := time.Duration(1+rand.IntN(10<<attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w: %w", ErrBusy, err)
		case <-time.After(pause):
		}
	}
}

// retryBusyErr is retryBusy for a transaction that returns only an error.
func retryBusyErr(ctx context.Context, s *Store, f func() error) error {
	_, err := retryBusy(ctx, s, func() (struct{}, error) { return struct{}{}, f() })
	return err
}
