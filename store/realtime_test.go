package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A real-time transcription is stored active, gains segments, finishes;
// it is listed and read per call and account only; deleting it removes
// its segments and refuses later ones.
func TestRealtimeTranscriptions(t *testing.T) { forEachEngine(t, testRealtimeTranscriptions) }

func testRealtimeTranscriptions(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tr := RealtimeTranscription{ID: "t-1", AccountID: "a-1", CallID: "c-1", Name: "live", Tracks: "inbound", StartTime: base}
	if err := s.CreateRealtimeTranscription(ctx, tr); err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"one two", "three"} {
		if err := s.AddRealtimeSegment(ctx, RealtimeSegment{TranscriptionID: "t-1", Seq: i, Track: "inbound", Transcript: text,
			Confidence: 0.5, StartMS: int64(i) * 1000, EndMS: int64(i)*1000 + 800}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRealtimeTranscription(ctx, RealtimeTranscription{ID: "t-crash", AccountID: "a-1", CallID: "c-2", Name: "x",
		Tracks: "inbound", StartTime: base}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FailInterruptedRealtimeTranscriptions(ctx, base); err != nil || n != 2 {
		t.Fatalf("a restart failed %d active transcriptions (%v), want 2", n, err)
	}
	if err := s.FinishRealtimeTranscription(ctx, "t-1", RealtimeAvailable, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, segs, err := s.RealtimeTranscription(ctx, "a-1", "c-1", "t-1")
	if err != nil || got.Status != RealtimeAvailable || !got.CompletedTime.Valid || len(segs) != 2 || segs[1].Transcript != "three" {
		t.Fatalf("%+v %+v %v", got, segs, err)
	}
	if _, _, err := s.RealtimeTranscription(ctx, "a-2", "c-1", "t-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account read it: %v", err)
	}
	list, err := s.RealtimeTranscriptions(ctx, "a-1", "c-1")
	if err != nil || len(list) != 1 || list[0].Name != "live" {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := s.DeleteRealtimeTranscription(ctx, "a-1", "c-1", "t-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRealtimeTranscription(ctx, "a-1", "c-1", "t-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.AddRealtimeSegment(ctx, RealtimeSegment{TranscriptionID: "t-1", Seq: 2, Track: "inbound"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("segment after delete: %v", err)
	}
	if err := s.FinishRealtimeTranscription(ctx, "t-1", RealtimeFailed, base); !errors.Is(err, ErrNotFound) {
		t.Fatalf("finish after delete: %v", err)
	}
}
