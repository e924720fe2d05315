package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// Pool settings are ours: read from the URL and taken out of it before
// pgx sees it; errors never echo the URL, which may hold a password.
func TestSplitPoolSettings(t *testing.T) {
	u, ps, err := splitPoolSettings("postgres://wv:pw@db:5432/wv?sslmode=require&pool_max_conns=40&pool_max_conn_idle_time=1m&pool_max_conn_lifetime=1h")
	if err != nil {
		t.Fatal(err)
	}
	if u != "postgres://wv:pw@db:5432/wv?sslmode=require" || ps.maxConns != 40 || ps.maxConnIdleTime != time.Minute || ps.maxConnLifetime != time.Hour {
		t.Fatalf("got %s %+v", u, ps)
	}
	if _, ps, _ := splitPoolSettings("postgres://db/wv"); ps.maxConns != maxConns || ps.maxConnIdleTime != 5*time.Minute || ps.maxConnLifetime != 0 {
		t.Fatalf("defaults: %+v", ps)
	}
	for _, bad := range []string{"postgres://wv:pw@db/wv?pool_max_conns=0", "postgres://wv:pw@db/wv?pool_max_conns=x", "postgres://wv:pw@db/wv?pool_max_conn_lifetime=soon"} {
		if _, _, err := splitPoolSettings(bad); err == nil || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestOpenDatabaseRefusesOtherURLs(t *testing.T) {
	_, err := OpenDatabase(context.Background(), t.TempDir(), "mysql://wv:pw@db/wv")
	if err == nil || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("a MySQL URL: %v", err)
	}
	// A server that does not answer: the error names the server, not the password.
	port := testenv.FreeTCPPort(t) // nothing listens there
	_, err = OpenDatabase(context.Background(), t.TempDir(), fmt.Sprintf("postgres://wv:s3cret@127.0.0.1:%d/wv?connect_timeout=5", port))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an unreachable server: %v", err)
	}
}
