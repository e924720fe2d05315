// Package store is the SQL repository of wasmvoice: accounts, API clients,
// voice applications and node settings, over sqlx. SQLite (go-sqlite3, WAL) is
// the embedded default; the SQL stays portable to PostgreSQL (queries use ?
// placeholders and are rebound for the driver).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // SQLite driver, registered as "sqlite3"
)

// ErrNotFound is returned when a row asked for by ID does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// maxConns bounds the SQLite connections; they all stay open between
// queries. SQLite runs one writer at a time and the node has few cores, so
// more connections only add open costs: past the bound a query waits in Go
// for a free connection. No store method asks for a second connection while
// it holds one (transactions use only their own), so the bound cannot
// deadlock.
const maxConns = 16

// DBFile is the SQLite file name inside the data directory.
const DBFile = "wasmvoice.db"

// Store is the repository. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	sealer  *sealer
	dataDir string // module files live under it
	apps    appCache
	calls   *callWriter // saves ended calls, several per transaction
	// nodeID names this node in the journal (SetNodeID, before the first
	// call); "" until then.
	nodeID string
}

// Open opens (creating when needed) the SQLite database under dataDir, applies
// pending migrations and loads the key used to seal reversible secrets.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "5000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// Each connection keeps its prepared statements: preparing the same few
	// queries again on every call was a twelfth of a call setup's CPU.
	q.Set("_stmt_cache_size", "64")
	dsn := "file:" + filepath.Join(dataDir, DBFile) + "?" + q.Encode()
	db, err := sqlx.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// database/sql keeps 2 idle connections and opens without bound by
	// default: under concurrent calls queries kept opening new SQLite
	// connections (file open plus the PRAGMAs above), a tenth of the server's
	// CPU in the call-setup benchmark (e2e/bench).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", dataDir, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	sl, err := loadSealer(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, sealer: sl, dataDir: dataDir}
	s.calls = newCallWriter(s)
	return s, nil
}

// Close writes the call records already queued, stops the call writer and
// closes the database.
func (s *Store) Close() error {
	s.calls.close()
	return s.db.Close()
}

// Ping reports whether the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.GetContext(ctx, &one, "SELECT 1"); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// rebind turns ? placeholders into the driver's own.
func (s *Store) rebind(q string) string { return s.db.Rebind(q) }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
