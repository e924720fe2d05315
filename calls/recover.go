package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media/wav"
	"github.com/wasmvoice/wasmvoice/store"
)

// Crash recovery: every call is journaled when it begins (the record as it
// began, and where its disconnect callback goes) and leaves the journal in
// the transaction that saves its end; so does every recording. A start after
// a crash (kill -9, power loss) finds the rows left: each call is stored as
// disconnected with cause error and gets its disconnect callback, each
// recording's file is repaired to the samples on disk and indexed.

// crashMessage is the errorMessage of a call a crash interrupted.
const crashMessage = "the node stopped while the call was up (a crash or power loss); the call was found at the next start"

// NodeLostMessage is the errorMessage of a call whose node stopped beating
// and that another node reconciled.
const NodeLostMessage = "node lost: the node carrying the call stopped (its heartbeat ended); another node reconciled the call"

// recordingRate is the sample rate media writes recordings at.
const recordingRate = 8000

var recovered = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_calls_recovered_total",
	Help: "Calls and recordings a crash interrupted, reconciled at start, by kind (call, recording).",
}, []string{"kind"})

// journal notes that c began, so a crash before it ends leaves it
// reconcilable. It does not wait for the write.
func (e *Engine) journal(c *Call) {
	lc := store.LiveCall{Record: c.Snapshot()}
	e.publishCall(lc.Record)
	if c.disconnectURL != "" {
		lc.Disconnect = &store.DisconnectTarget{URL: c.disconnectURL, Method: c.disconnectMethod, Username: c.cbUser, Password: c.cbPass}
	}
	if err := e.store.JournalCall(lc); err != nil {
		c.logf(slog.LevelWarn, "engine", "call not journaled (a crash would lose it): %v", err)
	}
}

// Recovery is what Recover reconciled.
type Recovery struct {
	Calls, Recordings, Conferences int
	Took                           time.Duration
}

// Recover reconciles what a crash interrupted. Run it at start, before the
// engine takes calls; the disconnect callbacks it sends are owned by the
// engine (Shutdown waits for them).
func (e *Engine) Recover(ctx context.Context) (Recovery, error) {
	start := time.Now()
	alive, err := e.store.LastAlive(ctx)
	if err != nil {
		return Recovery{}, err
	}
	lives, err := e.store.LiveCalls(ctx)
	if err != nil {
		return Recovery{}, err
	}
	out, err := e.reconcileCalls(ctx, lives, alive, crashMessage)
	if err != nil {
		return out, err
	}
	if out.Recordings, err = e.RecoverRecordings(ctx); err != nil {
		return out, err
	}
	// No conference outlives its node's process: those a crash left open
	// ended with it, at the last heartbeat.
	if out.Conferences, err = e.store.CompleteOpenConferences(ctx, alive); err != nil {
		return out, err
	}
	out.Took = time.Since(start)
	if out.Calls > 0 || out.Recordings > 0 || out.Conferences > 0 {
		e.log.Warn("reconciled what a crash interrupted", "calls", out.Calls, "recordings", out.Recordings, "conferences", out.Conferences, "took", out.Took)
	}
	return out, nil
}

// RecoverRecordings repairs and indexes this node's recordings a crash cut
// short (their files are on its disk) and reports how many. Recover does
// it too; a node whose calls another node reconciled while it was down
// runs only this.
func (e *Engine) RecoverRecordings(ctx context.Context) (int, error) {
	recs, err := e.store.LiveRecordings(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		ok, err := e.recoverRecording(ctx, r)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			recovered.WithLabelValues("recording").Inc()
		}
	}
	return n, nil
}

// ReconcileNode settles the calls of node id, another node that stopped
// beating at lastBeat (the caller claimed it, so no other node does the
// same): each is stored as disconnected with cause error and a "node lost"
// message, and gets its disconnect callback from this engine. Its
// unfinished recordings stay in the journal: their files are on its disk,
// and its next start indexes them.
func (e *Engine) ReconcileNode(ctx context.Context, id string, lastBeat time.Time) (Recovery, error) {
	start := time.Now()
	lives, err := e.store.NodeLiveCalls(ctx, id)
	if err != nil {
		return Recovery{}, err
	}
	out, err := e.reconcileCalls(ctx, lives, lastBeat, NodeLostMessage)
	if err != nil {
		return out, err
	}
	if out.Conferences, err = e.store.CompleteNodeConferences(ctx, id, lastBeat); err != nil {
		return out, err
	}
	out.Took = time.Since(start)
	if out.Calls > 0 || out.Conferences > 0 {
		e.log.Warn("reconciled the calls of a lost node", "node", id, "calls", out.Calls, "conferences", out.Conferences, "took", out.Took)
	}
	return out, nil
}

// reconcileCalls stores journaled calls as ended by a node that stopped at
// alive, with message as their error, and sends their disconnect callbacks.
func (e *Engine) reconcileCalls(ctx context.Context, lives []store.LiveCall, alive time.Time, message string) (Recovery, error) {
	var out Recovery
	now := time.Now().UTC()
	for _, lc := range lives {
		rec := lc.Record
		// The last heartbeat is when the node was last known to run; the
		// call cannot have ended before it began.
		end := alive.UTC()
		if end.Before(rec.StartTime) {
			end = rec.StartTime
		}
		rec.State, rec.EndTime, rec.LastUpdate = stateDisconnected, end, now
		rec.DisconnectCause, rec.ErrorMessage = bxml.CauseError, message
		log := []store.LogEntry{{At: now, Level: "error", Source: "engine", Message: message}}
		if err := e.store.SaveCall(ctx, rec, nil, log); err != nil {
			return out, fmt.Errorf("recover call %s: %w", rec.ID, err)
		}
		out.Calls++
		recovered.WithLabelValues("call").Inc()
		callsEnded.WithLabelValues(rec.Direction, rec.DisconnectCause).Inc()
		if rec.ParentCallID == "" { // a transfer's B-leg reports through its A-leg
			e.sendRecoveredDisconnect(ctx, rec, lc.Disconnect)
		}
	}
	return out, nil
}

// sendRecoveredDisconnect sends the disconnect callback of a call rec
// describes to its own target, or its application's.
func (e *Engine) sendRecoveredDisconnect(ctx context.Context, rec store.CallRecord, own *store.DisconnectTarget) {
	app, err := e.store.Application(ctx, rec.AccountID, rec.ApplicationID)
	if err != nil {
		e.log.Warn("recovered call: no disconnect callback", "callId", rec.ID, "error", err)
		return
	}
	c := newCall(e, app, rec.Direction)
	c.id = rec.ID
	c.log = e.log.With("callId", rec.ID, "accountId", app.AccountID, "applicationId", app.ID)
	c.info.CallID, c.info.CallURL = rec.ID, e.baseURL+"/api/v2/accounts/"+app.AccountID+"/calls/"+rec.ID
	c.info.From, c.info.To, c.info.Tag = rec.From, rec.To, rec.Tag
	c.info.EnqueuedTime, c.info.StartTime, c.info.AnswerTime, c.info.EndTime = rec.EnqueuedTime, rec.StartTime, rec.AnswerTime, rec.EndTime
	c.vars = rec.Variables
	if own != nil {
		c.disconnectURL, c.disconnectMethod, c.cbUser, c.cbPass = own.URL, own.Method, own.Username, own.Password
	}
	c.sendDisconnect(rec)
}

// recoverRecording repairs and indexes a recording a crash cut short; it
// reports false when there was nothing to index (the file is gone, or the
// recording was indexed already).
func (e *Engine) recoverRecording(ctx context.Context, r store.RecordingRecord) (bool, error) {
	// An MP3 encode the crash cut short leaves its temporary file beside
	// the WAV, which is what the recording keeps.
	part := strings.TrimSuffix(r.FilePath, ".wav") + ".mp3.part"
	if err := os.Remove(part); err == nil {
		e.log.Info("recovered recording: removed an unfinished mp3", "recordingId", r.ID, "path", part)
	} else if !errors.Is(err, os.ErrNotExist) {
		e.log.Warn("recovered recording: unfinished mp3 left", "recordingId", r.ID, "path", part, "error", err)
	}
	if _, err := e.store.Recording(ctx, r.AccountID, r.CallID, r.ID); err == nil {
		return false, e.store.ForgetLiveRecording(ctx, r.ID)
	}
	data, err := wav.Repair(r.FilePath, recordingRate, r.Channels)
	if errors.Is(err, os.ErrNotExist) {
		e.log.Warn("recovered recording: file gone", "recordingId", r.ID, "path", r.FilePath)
		return false, e.store.ForgetLiveRecording(ctx, r.ID)
	}
	if err != nil {
		return false, fmt.Errorf("recover recording %s: %w", r.ID, err)
	}
	d := time.Duration(data) * time.Second / time.Duration(recordingRate*2*r.Channels)
	r.Status, r.SizeBytes, r.DurationMS, r.EndTime = "complete", wav.HeaderSize+data, d.Milliseconds(), r.StartTime.Add(d)
	local := r.FilePath
	r.FilePath = e.keepRecording(ctx, r.AccountID, r.CallID, r.ID, local, "wav")
	if err := e.store.CreateRecording(ctx, r); err != nil {
		if r.FilePath != local {
			e.kept.Remove(ctx, r.FilePath)
		}
		return false, fmt.Errorf("recover recording %s: %w", r.ID, err)
	}
	e.kept.Discard(local, r.FilePath)
	return true, nil
}
