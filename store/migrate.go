package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Migrations are plain numbered SQL files applied in order, each in its own
// transaction, and recorded in schema_migrations. A tiny runner instead of a
// migration library: it pulls in no drivers we do not use, and keeps the
// files readable by any SQL tool. One set of files serves both engines; the
// rules are in migrations/README.md:
//
//   - NNNN_name.sql is portable SQL. On PostgreSQL the column types are
//     rewritten (pgTypes): SQLite's INTEGER is 64-bit, its TIMESTAMP holds
//     any instant, its BLOB is bytes, and its TEXT sorts bytewise.
//   - NNNN_name.postgres.sql, when present, replaces NNNN_name.sql on
//     PostgreSQL, verbatim (no rewriting), for what no rewrite covers.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string // the portable file's name, as schema_migrations records it
	sql     string
	pgName  string // the PostgreSQL override's name, "" when none
	pgSQL   string
}

// pgOverrideSuffix marks a migration's PostgreSQL version.
const pgOverrideSuffix = ".postgres.sql"

// pgTypeRules rewrite the portable column types for PostgreSQL: the same
// values, the same ordering and the same range as on SQLite. Only whole
// upper-case words outside string literals and comments are rewritten, so
// casts written as cast(x as text) are left alone.
var pgTypeRules = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\bTIMESTAMP\b`), "TIMESTAMPTZ"}, // an instant, not a wall clock
	{regexp.MustCompile(`\bINTEGER\b`), "BIGINT"},        // SQLite integers are 64-bit
	{regexp.MustCompile(`\bBLOB\b`), "BYTEA"},            // bytes
	{regexp.MustCompile(`\bTEXT\b`), `TEXT COLLATE "C"`}, // bytewise order, as SQLite sorts
}

// postgresSQL is what a portable migration runs as on PostgreSQL: the types
// rewritten in the code, not in 'string literals' or -- comments.
func postgresSQL(portable string) string {
	var b strings.Builder
	code := 0 // where the code not yet written starts
	flush := func(end int) {
		part := portable[code:end]
		for _, r := range pgTypeRules {
			part = r.re.ReplaceAllString(part, r.with)
		}
		b.WriteString(part)
	}
	for i := 0; i < len(portable); {
		var skip int // the literal's or comment's length
		switch {
		case portable[i] == '\'':
			skip = 1
			for i+skip < len(portable) {
				if portable[i+skip] == '\'' {
					if i+skip+1 < len(portable) && portable[i+skip+1] == '\'' {
						skip += 2 // '' escapes a quote
						continue
					}
					skip++
					break
				}
				skip++
			}
		case strings.HasPrefix(portable[i:], "--"):
			skip = strings.IndexByte(portable[i:], '\n')
			if skip < 0 {
				skip = len(portable) - i
			}
		default:
			i++
			continue
		}
		flush(i)
		b.WriteString(portable[i : i+skip])
		i += skip
		code = i
	}
	flush(len(portable))
	return b.String()
}

func loadMigrations() ([]migration, error) { return loadMigrationsFrom(migrationFS) }

// loadMigrationsFrom reads the migrations in fsys's directory migrations.
func loadMigrationsFrom(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	overrides := map[int]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue // README.md
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and _", e.Name())
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if strings.HasSuffix(e.Name(), pgOverrideSuffix) {
			if prev, dup := overrides[v]; dup {
				return nil, fmt.Errorf("migrations %s and %s share number %d", prev, e.Name(), v)
			}
			overrides[v] = e.Name()
			continue
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d: each number names one migration", prev.name, e.Name(), v)
		}
		byVersion[v] = &migration{version: v, name: e.Name(), sql: string(b)}
	}
	for v, name := range overrides {
		m, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("migration %s overrides no NNNN_name.sql with number %d", name, v)
		}
		if want := strings.TrimSuffix(m.name, ".sql") + pgOverrideSuffix; name != want {
			return nil, fmt.Errorf("migration %s: the PostgreSQL version of %s must be named %s", name, m.name, want)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		m.pgName, m.pgSQL = name, string(b)
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// forEngine returns the file name and the SQL a migration runs on engine.
func (m migration) forEngine(e Engine) (string, string) {
	switch {
	case e != Postgres:
		return m.name, m.sql
	case m.pgName != "":
		return m.pgName, m.pgSQL
	default:
		return m.name, postgresSQL(m.sql)
	}
}

// migrateLockID is the PostgreSQL advisory lock nodes take while migrating,
// so nodes that start together against one database migrate it once.
const migrateLockID = 0x7761736d766f6963 // "wasmvoic"

func migrate(ctx context.Context, db *sqlx.DB, engine Engine) error {
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if engine == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		// Unlock even when ctx is done: the lock lives as long as the
		// connection, which returns to the pool.
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockID)
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`
	if engine == Postgres {
		create = postgresSQL(create)
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []int
	if err := conn.SelectContext(ctx, &applied, "SELECT version FROM schema_migrations"); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if err := applyMigration(ctx, conn, db.Rebind, engine, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sqlx.Conn, rebind func(string) string, engine Engine, m migration) error {
	file, query := m.forEngine(engine)
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", file, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, query); err != nil {
		hint := ""
		if engine == Postgres && m.pgName == "" {
			hint = " (on PostgreSQL it ran with the types rewritten; see store/migrations/README.md: keep it portable or add " +
				strings.TrimSuffix(m.name, ".sql") + pgOverrideSuffix + ")"
		}
		return fmt.Errorf("migration %s on %s: %w%s", file, engine, err, hint)
	}
	if _, err := tx.ExecContext(ctx, rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UTC()); err != nil {
		return fmt.Errorf("record migration %s: %w", file, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", file, err)
	}
	return nil
}
