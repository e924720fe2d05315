// Package store is the SQL repository of wasmvoice: accounts, API clients,
// voice applications and node settings, over sqlx. SQLite (go-sqlite3, WAL) is
// the embedded default; PostgreSQL (pgx's database/sql driver) serves nodes
// that share a database. The SQL is portable: queries use ? placeholders
// rebound for the driver, and the migrations follow migrations/README.md.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/jmoiron/sqlx"
)

// ErrNotFound is returned when a row asked for by ID does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// Store is the repository. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	engine  Engine
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
	return OpenDatabase(ctx, dataDir, "")
}

// OpenDatabase opens the database databaseURL names (postgres://... or
// postgresql://...; "" is SQLite in dataDir), applies pending migrations and
// loads the key used to seal reversible secrets. dataDir holds the files on
// both engines.
func OpenDatabase(ctx context.Context, dataDir, databaseURL string) (*Store, error) {
	if err := ensureDataDir(dataDir); err != nil {
		return nil, err
	}
	engine := SQLite
	var db *sqlx.DB
	var err error
	switch {
	case databaseURL == "":
		db, err = openSQLite(ctx, dataDir)
	case IsPostgresURL(databaseURL):
		engine = Postgres
		db, err = openPostgres(ctx, databaseURL)
	default:
		return nil, fmt.Errorf("--database-url: want postgres://user:password@host/dbname (empty: SQLite in the data directory)")
	}
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, engine); err != nil {
		db.Close()
		return nil, err
	}
	// The sealing key is a file in the data directory on SQLite; nodes
	// sharing a PostgreSQL database keep it in the database (secret.go).
	keyFile := filepath.Join(dataDir, "secret.key")
	sl, err := loadSealer(keyFile)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, engine: engine, sealer: sl, dataDir: dataDir}
	if engine == Postgres {
		if err := s.shareSealer(ctx, keyFile); err != nil {
			db.Close()
			return nil, err
		}
	}
	s.calls = newCallWriter(s)
	return s, nil
}

// Engine reports which SQL engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

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
