package store

import (
	"context"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// testEngine is one engine a store test runs on.
type testEngine struct{ Engine }

// testDB is one test database: a data directory, and on PostgreSQL a
// database of its own (dropped when the test ends).
type testDB struct {
	dir, url string
}

// forEachEngine runs test on SQLite, then on PostgreSQL when
// WASMVOICE_TEST_POSTGRES_URL names a server (in CI it must: see
// testenv.PostgresURL), as subtests named after the engines.
func forEachEngine(t *testing.T, test func(t *testing.T, eng testEngine)) {
	t.Helper()
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(e.String(), func(t *testing.T) { test(t, testEngine{e}) })
	}
}

// newDB makes an empty database for the test on the engine.
func (e testEngine) newDB(t testing.TB) testDB {
	t.Helper()
	d := testDB{dir: t.TempDir()}
	if e.Engine == Postgres {
		d.url = testenv.PostgresURL(t)
	}
	return d
}

// open opens the store on the database (again, after a Close).
func (d testDB) open(ctx context.Context) (*Store, error) {
	return OpenDatabase(ctx, d.dir, d.url)
}

// open opens a store on a new, empty database.
func (e testEngine) open(ctx context.Context, t testing.TB) (*Store, error) {
	t.Helper()
	return e.newDB(t).open(ctx)
}
