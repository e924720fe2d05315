package calls

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
)

// fakeRecognizer hears the same words in every recording, after gate
// opens (nil: at once).
type fakeRecognizer struct {
	gate  chan struct{}
	calls atomic.Int32
}

func (f *fakeRecognizer) Transcribe(ctx context.Context, path string) (speech.Result, error) {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return speech.Result{}, ctx.Err()
		}
	}
	return speech.Result{Transcripts: []speech.Transcript{{Speaker: 0, Text: "hello world", Confidence: 0.8}},
		Clips: []speech.Clip{{Speaker: 0, Text: "hello world", Confidence: 0.8, Start: 0.1, End: 0.9}}}, nil
}

func withRecognizer(t *testing.T, b *bed, r speech.Recognizer, workers, queue int) {
	q := speech.NewQueue(workers, queue)
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	b.e.stt, b.e.sttQueue = r, q
}

// Record transcribe="true": the recording is transcribed after the call
// went on, the transcriptionAvailable callback goes to its URL with the
// spec's fields, and the store has the result; a transcription asked
// again after the call (transcribeCallRecording) calls back too.
func TestRecordTranscribes(t *testing.T) {
	b := newBed(t)
	withRecognizer(t, b, &fakeRecognizer{}, 1, 4)
	b.source.answer(bxml.EventInitiate, `<Response><Record maxDuration="1" transcribe="true" transcriptionAvailableUrl="http://app.test/transcribed" tag="t1"/><Hangup/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	req := b.source.wait(t, bxml.EventTranscriptionAvailable)
	ev := req.Event.(*bxml.TranscriptionAvailableEvent)
	if req.Target.URL != "http://app.test/transcribed" || ev.Transcription == nil || ev.Transcription.Text != "hello world" ||
		ev.RecordingID == "" || ev.FileFormat != "wav" || ev.Tag != "t1" || ev.AccountID != b.acct || ev.MediaURL == "" || ev.Duration == "" {
		t.Fatalf("transcriptionAvailable %+v to %s", ev, req.Target.URL)
	}
	waitClosed(t, done, "call end")
	tr, err := b.store.Transcription(context.Background(), b.acct, ev.CallID, ev.RecordingID)
	if err != nil || tr.Status != store.TranscriptionAvailable {
		t.Fatalf("stored %+v, %v", tr, err)
	}
	var res speech.Result
	if err := json.Unmarshal([]byte(tr.Result), &res); err != nil || res.Text() != "hello world" || len(res.Clips) != 1 {
		t.Fatalf("stored result %q: %v", tr.Result, err)
	}

	b.record(ev.CallID)
	target := bxml.Target{URL: "http://app.test/again", Method: "POST"}
	if err := b.e.TranscribeRecording(context.Background(), b.acct, ev.CallID, ev.RecordingID, target, "api-tag"); err != nil {
		t.Fatal(err)
	}
	again := b.source.wait(t, bxml.EventTranscriptionAvailable)
	aev := again.Event.(*bxml.TranscriptionAvailableEvent)
	if again.Target.URL != "http://app.test/again" || again.Call != nil || aev.Tag != "api-tag" || aev.From != "+15550001111" ||
		aev.Direction != "inbound" || aev.CallURL == "" || aev.StartTime.IsZero() {
		t.Fatalf("second transcriptionAvailable %+v", aev)
	}
	if err := b.e.TranscribeRecording(context.Background(), b.acct, ev.CallID, "r-none", target, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown recording: %v", err)
	}
}

// A queue that is full refuses the job at once: the recording's
// transcription is failed with the reason, the call is not held.
func TestTranscriptionQueueFull(t *testing.T) {
	b := newBed(t)
	rec := &fakeRecognizer{gate: make(chan struct{})}
	defer close(rec.gate)
	withRecognizer(t, b, rec, 1, 1)
	ctx := context.Background()
	base := time.Now().UTC()
	for _, id := range []string{"r-1", "r-2", "r-3"} {
		if err := b.store.CreateRecording(ctx, store.RecordingRecord{ID: id, AccountID: b.acct, ApplicationID: b.app.ID, CallID: "c-1",
			Direction: "inbound", Channels: 1, FileFormat: "wav", Status: "complete", FilePath: "/nowhere.wav", StartTime: base, EndTime: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.e.TranscribeRecording(ctx, b.acct, "c-1", "r-1", bxml.Target{}, ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); rec.calls.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("first job never started")
		}
	}
	if err := b.e.TranscribeRecording(ctx, b.acct, "c-1", "r-1", bxml.Target{}, ""); !errors.Is(err, store.ErrTranscriptionBusy) {
		t.Fatalf("same recording again: %v", err)
	}
	if err := b.e.TranscribeRecording(ctx, b.acct, "c-1", "r-2", bxml.Target{}, ""); err != nil { // waits in the queue
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.e.TranscribeRecording(ctx, b.acct, "c-1", "r-3", bxml.Target{}, ""); !errors.Is(err, speech.ErrQueueFull) {
		t.Fatalf("third: %v, want ErrQueueFull", err)
	}
	if time.Since(start) > time.Second {
		t.Error("a full queue made the caller wait")
	}
	tr, err := b.store.Transcription(ctx, b.acct, "c-1", "r-3")
	if err != nil || tr.Status != store.TranscriptionError || tr.ErrorMessage != speech.ErrQueueFull.Error() {
		t.Fatalf("refused job: %+v, %v", tr, err)
	}
}

// StartRecording transcribe="true": the recording StopRecording stores
// is transcribed, its callback goes to transcriptionAvailableUrl
// (relative to the document's URL, as other verb URLs).
func TestStartRecordingTranscribes(t *testing.T) {
	b := newBed(t)
	withRecognizer(t, b, &fakeRecognizer{}, 1, 4)
	b.source.answer(bxml.EventInitiate, `<Response><StartRecording transcribe="true" transcriptionAvailableUrl="/transcribed"/><Pause duration="0.2"/><StopRecording/><Hangup/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	req := b.source.wait(t, bxml.EventTranscriptionAvailable)
	ev := req.Event.(*bxml.TranscriptionAvailableEvent)
	if req.Target.URL != "/transcribed" || req.Base != "http://app.test/initiate" || ev.Transcription.Text != "hello world" || ev.Tag != "" {
		t.Fatalf("transcriptionAvailable %+v to %s (base %s)", ev, req.Target.URL, req.Base)
	}
	waitClosed(t, done, "call end")
}
