package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The node-level reads and writes the API tests reach only on SQLite: the
// first start, node keys, the heartbeat, the live journal and the
// recording lists, on each engine.
func TestNodeStateOnEveryEngine(t *testing.T) { forEachEngine(t, testNodeStateOnEveryEngine) }

func testNodeStateOnEveryEngine(t *testing.T, eng testEngine) {
	ctx := context.Background()
	db := eng.newDB(t)
	s, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := s.FirstStart(ctx)
	if err != nil || first == nil {
		t.Fatalf("first start: %v %v", first, err)
	}
	if again, err := s.FirstStart(ctx); err != nil || again != nil {
		t.Fatalf("second start: %v %v", again, err)
	}
	if acct, err := s.ClientAccount(ctx, first.ClientID); err != nil || acct != first.AccountID {
		t.Fatalf("client account: %q %v", acct, err)
	}
	if c, err := s.CreateCredentials(ctx, ""); err != nil || c.AccountID != first.AccountID {
		t.Fatalf("credentials for the only account: %v %v", c, err)
	}
	if as, err := s.Accounts(ctx); err != nil || len(as) != 1 || !as[0].HasFeature(FeatureAdmin) {
		t.Fatalf("accounts: %v %v", as, err)
	}

	// Concurrent first reads of a key agree on one value.
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := s.Key(ctx, "test_key")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if string(k) != string(keys[0]) || len(k) != 32 {
			t.Fatalf("keys disagree: %x / %x", k, keys[0])
		}
	}

	alive := time.Date(2026, 12, 1, 3, 4, 5, 123456789, time.UTC)
	if err := s.SetAlive(ctx, alive); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LastAlive(ctx); err != nil || !got.Equal(alive) {
		t.Fatalf("heartbeat: %v %v, want %v", got, err, alive)
	}

	start := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	call := CallRecord{ID: "c-live", AccountID: first.AccountID, ApplicationID: "app", Direction: "inbound", From: "a", To: "b", State: "answered", StartTime: start}
	if err := s.JournalCall(LiveCall{Record: call, Disconnect: &DisconnectTarget{URL: "https://h/d", Method: "POST", Username: "u", Password: "pw"}}); err != nil {
		t.Fatal(err)
	}
	rec := RecordingRecord{ID: "r-1", AccountID: first.AccountID, ApplicationID: "app", CallID: call.ID, Direction: "inbound", From: "a", To: "b",
		Channels: 1, FileFormat: "wav", Status: RecordingComplete, FilePath: "/r-1.wav", SizeBytes: 5 << 30, DurationMS: 1500, StartTime: start, EndTime: start.Add(time.Second)}
	if err := s.JournalRecording(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Close writes the queued journal row; a start after a crash reads both.
	s.Close()
	if s, err = db.open(ctx); err != nil {
		t.Fatal(err)
	}
	live, err := s.LiveCalls(ctx)
	if err != nil || len(live) != 1 || live[0].Record.ID != call.ID || live[0].Disconnect == nil || live[0].Disconnect.Password != "pw" {
		t.Fatalf("live calls: %+v %v", live, err)
	}
	lrs, err := s.LiveRecordings(ctx)
	if err != nil || len(lrs) != 1 || lrs[0].ID != rec.ID {
		t.Fatalf("live recordings: %+v %v", lrs, err)
	}
	if err := s.ForgetLiveRecording(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if lrs, _ := s.LiveRecordings(ctx); len(lrs) != 0 {
		t.Fatalf("forgotten recording still live: %+v", lrs)
	}

	// A 5 GiB recording: sizes past 32 bits survive on both engines.
	if err := s.CreateRecording(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rs, err := s.AccountRecordings(ctx, first.AccountID, RecordingFilter{MinStartTime: start.Add(-time.Hour)})
	if err != nil || len(rs) != 1 || rs[0].SizeBytes != 5<<30 || !rs[0].StartTime.Equal(start) {
		t.Fatalf("account recordings: %+v %v", rs, err)
	}
	if old, err := s.RecordingsBefore(ctx, start.Add(time.Minute), 10); err != nil || len(old) != 1 {
		t.Fatalf("recordings before: %+v %v", old, err)
	}
	if _, err := s.DeleteRecordingMedia(ctx, first.AccountID, call.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteRecordingMedia(ctx, first.AccountID, call.ID, rec.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("media deleted twice: %v, want ErrNotFound", err)
	}

	if eps, err := s.SIPEndpoints(ctx); err != nil || len(eps) != 0 {
		t.Fatalf("sip endpoints: %v %v", eps, err)
	}
	if rts, err := s.OutboundSIPRoutes(ctx); err != nil || len(rts) != 0 {
		t.Fatalf("outbound routes: %v %v", rts, err)
	}
	if apps, err := s.Applications(ctx, first.AccountID); err != nil || len(apps) != 0 {
		t.Fatalf("applications: %v %v", apps, err)
	}
	if ms, err := s.Modules(ctx, first.AccountID); err != nil || len(ms) != 0 {
		t.Fatalf("modules: %v %v", ms, err)
	}
}
