package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTranscriptions(t *testing.T) { forEachEngine(t, testTranscriptions) }

func testTranscriptions(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _ := s.CreateAccount(ctx, "")
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := RecordingRecord{ID: "r-1", AccountID: acct.ID, ApplicationID: "app", CallID: "c-1", Direction: "inbound",
		Channels: 1, FileFormat: "wav", Status: "complete", FilePath: "/x.wav", StartTime: base, EndTime: base}
	if err := s.CreateRecording(ctx, rec); err != nil {
		t.Fatal(err)
	}
	tr := TranscriptionRecord{RecordingID: "r-1", AccountID: acct.ID, CallID: "c-1", ID: "t-1", RequestedTime: base}
	if err := s.StartTranscription(ctx, TranscriptionRecord{RecordingID: "r-none", AccountID: acct.ID, CallID: "c-1", ID: "t-0", RequestedTime: base}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown recording: %v", err)
	}
	if err := s.StartTranscription(ctx, tr); err != nil {
		t.Fatal(err)
	}
	tr.ID = "t-2"
	if err := s.StartTranscription(ctx, tr); !errors.Is(err, ErrTranscriptionBusy) {
		t.Fatalf("second start while processing: %v", err)
	}
	if err := s.FinishTranscription(ctx, "r-1", "t-2", TranscriptionAvailable, "{}", "", base); !errors.Is(err, ErrNotFound) {
		t.Fatalf("finishing another job's transcription: %v", err)
	}
	if err := s.FinishTranscription(ctx, "r-1", "t-1", TranscriptionAvailable, `{"transcripts":[]}`, "", base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Transcription(ctx, acct.ID, "c-1", "r-1")
	if err != nil || got.Status != TranscriptionAvailable || got.Result != `{"transcripts":[]}` || !got.CompletedTime.Time.Equal(base.Add(time.Second)) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := s.Transcription(ctx, "other", "c-1", "r-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account: %v", err)
	}
	// A finished transcription is replaced by a new request.
	if err := s.StartTranscription(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FailInterruptedTranscriptions(ctx, base); err != nil || n != 1 {
		t.Fatalf("interrupted: %d, %v", n, err)
	}
	all, err := s.CallTranscriptions(ctx, acct.ID, "c-1")
	if err != nil || all["r-1"].Status != TranscriptionError || all["r-1"].ID != "t-2" || all["r-1"].ErrorMessage == "" {
		t.Fatalf("call transcriptions %+v, %v", all, err)
	}
	if err := s.DeleteTranscription(ctx, acct.ID, "c-1", "r-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTranscription(ctx, acct.ID, "c-1", "r-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// Deleting the recording deletes its transcription.
	if err := s.StartTranscription(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteRecording(ctx, acct.ID, "c-1", "r-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transcription(ctx, acct.ID, "c-1", "r-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after deleting the recording: %v", err)
	}
}
