package store

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// sqliteOnly are constructs a migration must not use: each runs on SQLite
// only (or means something else on PostgreSQL). migrations/README.md lists
// them with what to write instead.
var sqliteOnly = []struct {
	re   *regexp.Regexp
	want string
}{
	{regexp.MustCompile(`(?i)\bAUTOINCREMENT\b|\browid\b`), "TEXT ids made in Go"},
	{regexp.MustCompile(`(?i)\bINSERT\s+OR\s+(IGNORE|REPLACE)\b`), "ON CONFLICT (...) DO NOTHING / DO UPDATE"},
	{regexp.MustCompile(`(?i)\bPRAGMA\b`), "nothing: connection settings live in store/engine.go"},
	{regexp.MustCompile(`(?i)\b(datetime|strftime|julianday|unixepoch|now)\s*\(`), "times computed in Go and bound"},
	{regexp.MustCompile(`(?i)\bDATETIME\b`), "TIMESTAMP"},
	{regexp.MustCompile(`(?i)\bREAL\b`), "DOUBLE PRECISION (REAL has 4 bytes on PostgreSQL)"},
	{regexp.MustCompile(`"`), "'single-quoted' strings"},
	{regexp.MustCompile(`(?i)\bBOOLEAN\b[^,\n]*\bDEFAULT\s+[01]\b`), "DEFAULT FALSE / TRUE"},
	{regexp.MustCompile(`\b(integer|timestamp|blob|text|boolean)\s+(NOT|NULL|PRIMARY|REFERENCES|DEFAULT|UNIQUE|not|null|primary|references|default|unique|,|\))`), "upper-case type names (rewritten for PostgreSQL)"},
}

var sqlComment = regexp.MustCompile(`--[^\n]*`)

// Every migration keeps to the portable subset (migrations/README.md), so
// a migration that would break PostgreSQL fails here even where no
// PostgreSQL runs.
func TestMigrationsArePortable(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		code := sqlComment.ReplaceAllString(m.sql, "")
		for _, r := range sqliteOnly {
			if loc := r.re.FindStringIndex(code); loc != nil {
				line := 1 + strings.Count(code[:loc[0]], "\n")
				t.Errorf("store/migrations/%s:%d: %q runs on SQLite only; write %s (store/migrations/README.md)", m.name, line, code[loc[0]:loc[1]], r.want)
			}
		}
	}
}

// Every migration runs, one at a time, on a fresh database of each engine;
// a failure names the file, the engine and the error.
func TestMigrationsRunOnEveryEngine(t *testing.T) { forEachEngine(t, testMigrationsRunOnEveryEngine) }

func testMigrationsRunOnEveryEngine(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatalf("%v\n(store/migrations/README.md says how to write a migration that runs on both engines)", err)
	}
	defer s.Close()
	var names []string
	if err := s.db.SelectContext(ctx, &names, "SELECT name FROM schema_migrations ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations()
	if len(names) != len(ms) {
		t.Fatalf("%d migrations recorded, %d files", len(names), len(ms))
	}
}

func TestPostgresTypeRewrite(t *testing.T) {
	in := "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, at TIMESTAMP NULL, b BLOB, ok BOOLEAN, s TEXT DEFAULT 'TEXT it''s', c TIMESTAMPTZ); -- a TEXT's'\nALTER TABLE t ADD COLUMN x TEXT"
	want := `CREATE TABLE t (id TEXT COLLATE "C" PRIMARY KEY, n BIGINT NOT NULL, at TIMESTAMPTZ NULL, b BYTEA, ok BOOLEAN, s TEXT COLLATE "C" DEFAULT 'TEXT it''s', c TIMESTAMPTZ); -- a TEXT's'
ALTER TABLE t ADD COLUMN x TEXT COLLATE "C"`
	if got := postgresSQL(in); got != want {
		t.Fatalf("postgresSQL:\n got %s\nwant %s", got, want)
	}
}

// The portability rules catch what they name.
func TestMigrationLintCatches(t *testing.T) {
	for _, bad := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
		"INSERT OR IGNORE INTO t VALUES (1)",
		"PRAGMA foreign_keys = on",
		"UPDATE t SET at = datetime('now')",
		"ALTER TABLE t ADD COLUMN at DATETIME",
		"ALTER TABLE t ADD COLUMN ok BOOLEAN NOT NULL DEFAULT 0",
		"ALTER TABLE t ADD COLUMN name text NOT NULL DEFAULT ''",
		`UPDATE t SET name = "x"`,
	} {
		hit := false
		for _, r := range sqliteOnly {
			hit = hit || r.re.MatchString(bad)
		}
		if !hit {
			t.Errorf("no rule catches %q", bad)
		}
	}
}

// A NNNN_name.postgres.sql file replaces its portable twin on PostgreSQL
// only, verbatim; misnamed or orphan overrides and shared numbers are
// refused.
func TestMigrationOverrides(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	ms, err := loadMigrationsFrom(fstest.MapFS{
		"migrations/0001_a.sql":          file("CREATE TABLE a (id TEXT)"),
		"migrations/README.md":           file("# rules"),
		"migrations/0002_b.sql":          file("CREATE TABLE b (at TIMESTAMP)"),
		"migrations/0002_b.postgres.sql": file("CREATE TABLE b (at TIMESTAMP(3) WITH TIME ZONE)"),
	})
	if err != nil || len(ms) != 2 {
		t.Fatalf("%v %v", ms, err)
	}
	for _, tc := range []struct {
		m          migration
		e          Engine
		name, want string
	}{
		{ms[0], SQLite, "0001_a.sql", "CREATE TABLE a (id TEXT)"},
		{ms[0], Postgres, "0001_a.sql", `CREATE TABLE a (id TEXT COLLATE "C")`},
		{ms[1], SQLite, "0002_b.sql", "CREATE TABLE b (at TIMESTAMP)"},
		{ms[1], Postgres, "0002_b.postgres.sql", "CREATE TABLE b (at TIMESTAMP(3) WITH TIME ZONE)"},
	} {
		if name, sql := tc.m.forEngine(tc.e); name != tc.name || sql != tc.want {
			t.Errorf("%s on %v: %s %q, want %s %q", tc.m.name, tc.e, name, sql, tc.name, tc.want)
		}
	}
	for name, bad := range map[string]fstest.MapFS{
		"orphan override": {"migrations/0001_a.sql": file(""), "migrations/0002_b.postgres.sql": file("")},
		"misnamed":        {"migrations/0001_a.sql": file(""), "migrations/0001_x.postgres.sql": file("")},
		"shared number":   {"migrations/0001_a.sql": file(""), "migrations/0001_b.sql": file("")},
	} {
		if _, err := loadMigrationsFrom(bad); err == nil {
			t.Errorf("%s: loaded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
