package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // SQLite driver, registered as "sqlite3"
)

// Engine names the SQL engine under a Store.
type Engine string

// The engines: SQLite is the embedded default, PostgreSQL is for nodes that
// share one database.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// String returns the engine's display name (test names and log lines).
func (e Engine) String() string {
	if e == Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// maxConns bounds the connections; they all stay open between queries.
// SQLite runs one writer at a time and the node has few cores, so more
// connections only add open costs: past the bound a query waits in Go for a
// free connection. No store method asks for a second connection while it
// holds one (transactions use only their own), so the bound cannot
// deadlock. PostgreSQL takes the same default (a PostgreSQL server serves
// max_connections for every node together); pool_max_conns in the URL
// changes it.
const maxConns = 16

// DBFile is the SQLite file name inside the data directory.
const DBFile = "wasmvoice.db"

// IsPostgresURL reports whether a --database-url names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openSQLite opens (creating when needed) the SQLite file under dataDir.
func openSQLite(ctx context.Context, dataDir string) (*sqlx.DB, error) {
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
	return db, nil
}

// poolSettings are the connection-pool knobs a PostgreSQL URL may carry;
// they are ours, not libpq's, so they are taken out before pgx parses the
// URL (pgx would send unknown parameters to the server as settings). The
// names follow pgxpool's.
type poolSettings struct {
	maxConns        int
	maxConnIdleTime time.Duration
	maxConnLifetime time.Duration
}

func splitPoolSettings(raw string) (string, poolSettings, error) {
	ps := poolSettings{maxConns: maxConns, maxConnIdleTime: 5 * time.Minute}
	u, err := url.Parse(raw)
	if err != nil {
		// Never echo the URL: it may hold a password.
		return "", ps, fmt.Errorf("--database-url: not a URL")
	}
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return "", ps, fmt.Errorf("--database-url: pool_max_conns %q: want 1-1000", v)
		}
		ps.maxConns = n
	}
	for name, dst := range map[string]*time.Duration{"pool_max_conn_idle_time": &ps.maxConnIdleTime, "pool_max_conn_lifetime": &ps.maxConnLifetime} {
		if v := q.Get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return "", ps, fmt.Errorf("--database-url: %s %q: want a duration such as 5m", name, v)
			}
			*dst = d
		}
	}
	for _, k := range []string{"pool_max_conns", "pool_max_conn_idle_time", "pool_max_conn_lifetime"} {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	return u.String(), ps, nil
}

// openPostgres connects to the PostgreSQL database the URL names, through
// pgx's database/sql driver.
func openPostgres(ctx context.Context, databaseURL string) (*sqlx.DB, error) {
	connURL, ps, err := splitPoolSettings(databaseURL)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("--database-url: %w", err)
	}
	types := stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		tm := c.TypeMap()
		// TIMESTAMPTZ values come back in UTC, as SQLite's do, rather than
		// in the process's local zone: output must not depend on the host's TZ.
		tm.RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	})
	db := sqlx.NewDb(sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg, types)}), "pgx")
	db.SetMaxOpenConns(ps.maxConns)
	db.SetMaxIdleConns(ps.maxConns)
	db.SetConnMaxIdleTime(ps.maxConnIdleTime)
	db.SetConnMaxLifetime(ps.maxConnLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgresql %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return db, nil
}

// ensureDataDir creates the data directory: files (modules, recordings, the
// sealing key) live there on both engines.
func ensureDataDir(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	return nil
}
