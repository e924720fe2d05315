package calls

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media/wav"
	"github.com/wasmvoice/wasmvoice/store"
)

// A call and its recording left in the journal (the node died while they
// were up) are settled by the next engine on the same store: the call is
// stored as disconnected with cause error and its disconnect callback goes
// out; the recording is repaired and indexed.
func TestRecoverAfterCrash(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><StartRecording/><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	b.invite(leg)
	callID := b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID
	waitClosed(t, leg.answered, "answer")
	ctx := context.Background()
	var recs []store.RecordingRecord
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		lives, err := b.store.LiveCalls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recs, err = b.store.LiveRecordings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(lives) == 1 && lives[0].Record.ID == callID && len(recs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal: %d calls, %d recordings", len(lives), len(recs))
		}
	}
	time.Sleep(300 * time.Millisecond) // some audio on disk
	if err := b.store.SetAlive(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// As if the crash came during an MP3 encode.
	part := strings.TrimSuffix(recs[0].FilePath, ".wav") + ".mp3.part"
	if err := os.WriteFile(part, []byte("ID3 half an mp3"), 0o640); err != nil {
		t.Fatal(err)
	}

	// The node "crashes": another engine starts on the same store.
	src := newFakeSource()
	e2 := New(Config{Store: b.store, Media: b.e.media, Source: src, BaseURL: "http://api.test", DataDir: b.e.dataDir, Logger: slog.New(slog.DiscardHandler)})
	got, err := e2.Recover(ctx)
	if err != nil || got.Calls != 1 || got.Recordings != 1 {
		t.Fatalf("Recover = %+v, %v", got, err)
	}
	if _, err := os.Stat(part); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unfinished mp3 %s is still there (%v)", part, err)
	}
	disc := src.wait(t, bxml.EventDisconnect)
	ev := disc.Event.(*bxml.DisconnectEvent)
	if ev.CallID != callID || ev.Cause != bxml.CauseError || ev.ErrorMessage != crashMessage || disc.Target.URL != "http://app.test/status" {
		t.Errorf("disconnect %+v to %s", ev, disc.Target.URL)
	}
	rec, err := b.store.Call(ctx, b.acct, callID)
	if err != nil || rec.State != stateDisconnected || rec.DisconnectCause != bxml.CauseError || rec.EndTime.Before(rec.StartTime) {
		t.Fatalf("record %+v, %v", rec, err)
	}
	r, err := b.store.Recording(ctx, b.acct, callID, recs[0].ID)
	if err != nil || r.Status != "complete" {
		t.Fatalf("recording %+v, %v", r, err)
	}
	data, err := os.ReadFile(r.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	// The first engine is not stopped (it "crashed") and its recorder may
	// still append after the repair: the repaired header and the index agree,
	// and the file holds at least what they say.
	a, err := wav.Decode(bytes.NewReader(data))
	if err != nil || a.Channels != 1 || wav.HeaderSize+2*int64(len(a.Samples)) != r.SizeBytes || int64(len(data)) < r.SizeBytes {
		t.Fatalf("recovered file: %d bytes (index says %d), %v", len(data), r.SizeBytes, err)
	}
	if lives, _ := b.store.LiveCalls(ctx); len(lives) != 0 {
		t.Fatalf("journal still holds %d calls", len(lives))
	}
	if again, err := e2.Recover(ctx); err != nil || again.Calls != 0 || again.Recordings != 0 {
		t.Fatalf("second Recover = %+v, %v", again, err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e2.Shutdown(ctx2)
}

// A node that stops beating has its calls reconciled by another node on the
// shared store: stored as ended with a "node lost" error, the disconnect
// callback sent by the reconciling engine; its unfinished recording stays
// journaled for its own restart (the file is on its disk).
func TestReconcileLostNode(t *testing.T) {
	b := newBed(t)
	b.store.SetNodeID("node-c")
	b.source.answer(bxml.EventInitiate, `<Response><StartRecording/><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	b.invite(leg)
	callID := b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID
	waitClosed(t, leg.answered, "answer")
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		recs, err := b.store.LiveRecordings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if owner, err := b.store.CallOwner(ctx, callID); err == nil && owner == "node-c" && len(recs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal: %d recordings", len(recs))
		}
	}
	// From here the store speaks for node-a, which reconciles node-c.
	b.store.SetNodeID("node-a")
	if got, err := b.store.LiveCalls(ctx); err != nil || len(got) != 0 {
		t.Fatalf("node-a's own live calls: %d, %v", len(got), err)
	}
	src := newFakeSource()
	e2 := New(Config{Store: b.store, Media: b.e.media, Source: src, BaseURL: "http://api.test", DataDir: b.e.dataDir, Logger: slog.New(slog.DiscardHandler)})
	lastBeat := time.Now()
	got, err := e2.ReconcileNode(ctx, "node-c", lastBeat)
	if err != nil || got.Calls != 1 || got.Recordings != 0 {
		t.Fatalf("ReconcileNode = %+v, %v", got, err)
	}
	ev := src.wait(t, bxml.EventDisconnect).Event.(*bxml.DisconnectEvent)
	if ev.CallID != callID || ev.Cause != bxml.CauseError || ev.ErrorMessage != NodeLostMessage {
		t.Errorf("disconnect %+v", ev)
	}
	rec, err := b.store.Call(ctx, b.acct, callID)
	if err != nil || rec.State != stateDisconnected || rec.ErrorMessage != NodeLostMessage || rec.EndTime.Before(rec.StartTime) {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if _, err := b.store.CallOwner(ctx, callID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the call is still journaled: %v", err)
	}
	if left, _ := b.store.NodeLiveCalls(ctx, "node-c"); len(left) != 0 {
		t.Fatalf("node-c still has %d live calls", len(left))
	}
	b.store.SetNodeID("node-c")
	if recs, _ := b.store.LiveRecordings(ctx); len(recs) != 1 {
		t.Fatalf("node-c's unfinished recording left the journal: %d", len(recs))
	}
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e2.Shutdown(ctx2)
}
