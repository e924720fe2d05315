package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// The sweeper deletes what is older than the retention (files, their
// empty directories, metadata; more than one batch of it) and keeps what is
// younger until the clock passes it too.
func TestSweeperDeletesExpiredRecordings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenDatabase(ctx, dir, testenv.StoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(base.UnixNano())
	add := func(id string, age time.Duration, withFile bool) string {
		path := ""
		if withFile {
			path = filepath.Join(dir, "recordings", acct.ID, "c-"+id, id+".wav")
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("RIFF"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		start := base.Add(-age)
		if err := st.CreateRecording(ctx, store.RecordingRecord{ID: id, AccountID: acct.ID, ApplicationID: "a", CallID: "c-" + id,
			Direction: "inbound", From: "+15550001111", To: "+15550002222", Channels: 1, FileFormat: "wav",
			Status: store.RecordingComplete, FilePath: path, StartTime: start, EndTime: start.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldFile := add("r-old", 48*time.Hour, true)
	add("r-old-media-deleted", 25*time.Hour, false)
	for i := range 2 * sweepBatch {
		add(fmt.Sprintf("r-old-%03d", i), 30*time.Hour, false)
	}
	freshFile := add("r-fresh", time.Hour, true)

	s, err := NewSweeper(st, SweepOptions{Retention: 24 * time.Hour, Interval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Go(t, func(ctx context.Context) error { s.Run(ctx); return nil })

	left := func() []store.RecordingRecord {
		t.Helper()
		rs, err := st.AccountRecordings(ctx, acct.ID, store.RecordingFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	waitFor(t, func() bool { return len(left()) == 1 })
	if rs := left(); rs[0].ID != "r-fresh" {
		t.Fatalf("left %s, want r-fresh", rs[0].ID)
	}
	if _, err := os.Stat(filepath.Dir(oldFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired recording's directory: %v", err)
	}
	if _, err := os.Stat(freshFile); err != nil {
		t.Errorf("fresh recording's file: %v", err)
	}

	now.Store(base.Add(24 * time.Hour).UnixNano()) // r-fresh is 25 h old now
	waitFor(t, func() bool { return len(left()) == 0 })
	if _, err := os.Stat(freshFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired recording's file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "recordings", acct.ID)); err != nil {
		t.Errorf("the account's recordings directory went too: %v", err)
	}
}

func TestSweeperNeedsARetention(t *testing.T) {
	if _, err := NewSweeper(nil, SweepOptions{}); err == nil {
		t.Error("a zero retention was taken")
	}
}

func TestJitterStaysWithinAFifth(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Hour); d < 48*time.Minute || d > 72*time.Minute {
			t.Fatalf("jitter(1h) = %s", d)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
