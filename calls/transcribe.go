package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
)

var (
	transcriptionsDone = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_transcriptions_total", Help: "Transcriptions by outcome: available, error, refused (queue full).",
	}, []string{"outcome"})
	transcriptionSeconds = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_transcription_seconds_total", Help: "Seconds of recorded audio transcribed, and seconds spent transcribing it.",
	}, []string{"kind"})
)

// ErrNoRecognizer is returned when this node has no speech recogniser.
var ErrNoRecognizer = errors.New("transcription is not configured on this node")

// TranscribeRecording starts the transcription of an indexed recording
// (transcribeCallRecording): its status is processing when this returns;
// the result, and the transcriptionAvailable callback to t when t has a
// URL, come later. tag, when not empty, is the callback's tag. Errors:
// store.ErrNotFound, store.ErrTranscriptionBusy, speech.ErrQueueFull,
// ErrNoRecognizer.
func (e *Engine) TranscribeRecording(ctx context.Context, accountID, callID, recordingID string, t bxml.Target, tag string) error {
	rec, err := e.store.Recording(ctx, accountID, callID, recordingID)
	if err != nil {
		return err
	}
	c, _ := e.Call(accountID, callID)
	return e.transcribe(ctx, rec, c, t, tag)
}

// transcribeRecording starts the transcription a Record or StartRecording
// asked for (transcribe="true"); a failure to start goes to the call log.
func (c *Call) transcribeRecording(recordingID string, t bxml.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := c.e.store.Recording(ctx, c.app.AccountID, c.id, recordingID)
	if err == nil {
		err = c.e.transcribe(ctx, rec, c, t, "")
	}
	if err != nil {
		c.logf(slog.LevelWarn, "media", "recording %s is not transcribed: %v", recordingID, err)
	}
}

// transcribe records the transcription as processing and queues its job;
// a queue that refuses it leaves the transcription failed with the reason.
// c is the recording's call while it is live or held (nil otherwise).
func (e *Engine) transcribe(ctx context.Context, rec store.RecordingRecord, c *Call, t bxml.Target, tag string) error {
	if e.stt == nil || e.sttQueue == nil {
		return ErrNoRecognizer
	}
	id := "t-" + uuid.NewString()
	if err := e.store.StartTranscription(ctx, store.TranscriptionRecord{RecordingID: rec.ID, AccountID: rec.AccountID,
		CallID: rec.CallID, ID: id, RequestedTime: time.Now()}); err != nil {
		return err
	}
	job := func(qctx context.Context) { e.runTranscription(qctx, rec, id, c, t, tag) }
	if err := e.sttQueue.Submit(job); err != nil {
		transcriptionsDone.WithLabelValues("refused").Inc()
		e.finishTranscription(rec, id, store.TranscriptionError, "", err.Error())
		return err
	}
	return nil
}

// transcribeFile recognises a recording's media, fetched to a local file
// first when it lives in a bucket (the engines read files).
func (e *Engine) transcribeFile(ctx context.Context, ref string) (speech.Result, error) {
	path, release, err := e.kept.Local(ctx, ref)
	if err != nil {
		return speech.Result{}, err
	}
	defer release()
	return e.stt.Transcribe(ctx, path)
}

// transcriptionTimeout bounds one transcription: a fixed allowance plus
// twice the audio's length.
func transcriptionTimeout(rec store.RecordingRecord) time.Duration {
	return 2*time.Minute + 2*time.Duration(rec.DurationMS)*time.Millisecond
}

// runTranscription is the queued job: recognise, store, call back.
func (e *Engine) runTranscription(ctx context.Context, rec store.RecordingRecord, id string, c *Call, t bxml.Target, tag string) {
	log := e.log.With("accountId", rec.AccountID, "callId", rec.CallID, "recordingId", rec.ID)
	if ctx.Err() != nil {
		e.finishTranscription(rec, id, store.TranscriptionError, "", "the node stopped before the transcription ran")
		return
	}
	tctx, cancel := context.WithTimeout(ctx, transcriptionTimeout(rec))
	defer cancel()
	began := time.Now()
	res, err := e.transcribeFile(tctx, rec.FilePath)
	took := time.Since(began)
	if err != nil {
		transcriptionsDone.WithLabelValues("error").Inc()
		log.Warn("transcription failed", "error", err)
		e.finishTranscription(rec, id, store.TranscriptionError, "", err.Error())
		return
	}
	transcriptionsDone.WithLabelValues("available").Inc()
	transcriptionSeconds.WithLabelValues("audio").Add(float64(rec.DurationMS) / 1000)
	transcriptionSeconds.WithLabelValues("processing").Add(took.Seconds())
	data, err := json.Marshal(res)
	if err != nil {
		e.finishTranscription(rec, id, store.TranscriptionError, "", err.Error())
		return
	}
	if !e.finishTranscription(rec, id, store.TranscriptionAvailable, string(data), "") {
		return // deleted or replaced meanwhile: nothing to announce
	}
	log.Info("transcription available", "took", took.Round(time.Millisecond), "audioMs", rec.DurationMS)
	if t.IsZero() {
		return
	}
	d := time.Duration(rec.DurationMS) * time.Millisecond
	ev := &bxml.TranscriptionAvailableEvent{
		RecordingID: rec.ID, MediaURL: e.recordingMediaURL(rec), EndTime: bxml.At(rec.EndTime), Duration: isoDuration(d),
		FileFormat: rec.FileFormat, Tag: tag, Transcription: summary(res),
	}
	var req callflow.Request
	if c != nil {
		req = c.request(t, ev)
	} else {
		info := e.endedCallInfo(ctx, rec)
		ev.Fill(&info)
		req = callflow.Request{Event: ev, Target: t}
	}
	cbctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := e.source.Fetch(cbctx, req); err != nil {
		log.Warn("transcriptionAvailable callback failed", "error", err)
	}
}

// finishTranscription stores a transcription's outcome; false when it was
// deleted or replaced meanwhile (or the store failed).
func (e *Engine) finishTranscription(rec store.RecordingRecord, id, status, result, message string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.FinishTranscription(ctx, rec.ID, id, status, result, message, time.Now()); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("store transcription", "recordingId", rec.ID, "error", err)
		}
		return false
	}
	return true
}

func (e *Engine) recordingMediaURL(rec store.RecordingRecord) string {
	return fmt.Sprintf("%s/api/v2/accounts/%s/calls/%s/recordings/%s/media", e.baseURL, rec.AccountID, rec.CallID, rec.ID)
}

// endedCallInfo is the call of a recording as the store has it, for the
// callback of a transcription requested after the call.
func (e *Engine) endedCallInfo(ctx context.Context, rec store.RecordingRecord) bxml.CallInfo {
	info := bxml.CallInfo{AccountID: rec.AccountID, ApplicationID: rec.ApplicationID, From: rec.From, To: rec.To,
		Direction: rec.Direction, CallID: rec.CallID, ParentCallID: rec.ParentCallID, StartTime: rec.StartTime,
		CallURL: e.baseURL + "/api/v2/accounts/" + rec.AccountID + "/calls/" + rec.CallID}
	if call, err := e.store.Call(ctx, rec.AccountID, rec.CallID); err == nil {
		info.StartTime, info.EnqueuedTime, info.Tag = call.StartTime, call.EnqueuedTime, call.Tag
	}
	return info
}

// summary is the one transcription the callback carries: a single speaker's
// transcript, or every speaker's text in channel order with their mean
// confidence.
func summary(res speech.Result) *bxml.Transcription {
	switch len(res.Transcripts) {
	case 0:
		return &bxml.Transcription{}
	case 1:
		t := res.Transcripts[0]
		return &bxml.Transcription{Speaker: t.Speaker, Text: t.Text, Confidence: t.Confidence}
	}
	var texts []string
	var conf float64
	for _, t := range res.Transcripts {
		if t.Text != "" {
			texts = append(texts, t.Text)
		}
		conf += t.Confidence
	}
	return &bxml.Transcription{Text: strings.Join(texts, " "), Confidence: conf / float64(len(res.Transcripts))}
}
