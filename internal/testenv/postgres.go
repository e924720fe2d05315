package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, registered as "pgx"
)

// PostgresEnv names the PostgreSQL server the tests may use: a URL whose
// user can CREATE DATABASE (.ci/postgres.sh starts a throwaway one and
// prints it).
const PostgresEnv = "WASMVOICE_TEST_POSTGRES_URL"

// StoreEnv, set to "postgres", runs the tests of the packages above the
// store (api, calls, server, storage) on PostgreSQL, a database per test:
// WASMVOICE_TEST_STORE=postgres go test ./... exercises the whole node on it.
const StoreEnv = "WASMVOICE_TEST_STORE"

// StoreURL is the --database-url a test's store opens: "" (SQLite in the
// test's data directory) unless WASMVOICE_TEST_STORE=postgres, then a fresh
// PostgreSQL database of the test's own (PostgresURL).
func StoreURL(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(StoreEnv); v {
	case "", "sqlite":
		return ""
	case "postgres":
		return PostgresURL(t)
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", StoreEnv, v)
		return ""
	}
}

// PostgresURL returns the URL of a new, empty PostgreSQL database of the
// test's own, dropped when the test ends, so tests on PostgreSQL stay as
// independent (and parallel-safe) as tests on a fresh SQLite file. Without
// WASMVOICE_TEST_POSTGRES_URL the test is skipped, or fails in CI.
// Connections are capped at 8 per database (pool_max_conns), so many
// tests fit in one server's max_connections.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if InCI() {
			t.Fatalf("%s is not set: .ci/run starts PostgreSQL (.ci/postgres.sh) and sets it", PostgresEnv)
		}
		t.Skipf("%s not set: start a throwaway PostgreSQL with eval \"$(.ci/postgres.sh start)\"", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: not a URL: %v", PostgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	b := make([]byte, 8)
	rand.Read(b)
	name := "wvtest_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The name is ours (hex), so it needs no quoting beyond the identifier's.
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("create test database on %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a store the test leaked open must not keep the database.
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	q := u.Query()
	q.Set("pool_max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String()
}
