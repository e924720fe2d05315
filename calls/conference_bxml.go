package calls

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

// confEvent is a conference callback and the call whose application
// (webhook or module) it goes through.
type confEvent struct {
	ev   bxml.Event
	call *Call
}

// confEventQueue bounds the callbacks waiting on a slow conference event
// URL; past it new ones are dropped (and logged), never blocking a call.
const confEventQueue = 256

// notify queues a callback for the notifier, in order.
func (conf *conference) notify(ev bxml.Event, c *Call) {
	conf.mu.Lock()
	defer conf.mu.Unlock()
	if conf.closed {
		return
	}
	select {
	case conf.events <- confEvent{ev: ev, call: c}:
	default:
		conf.e.log.Warn("conference callback dropped: queue full", "conferenceId", conf.id, "event", ev.Type())
	}
}

func (conf *conference) closeEvents() {
	conf.mu.Lock()
	defer conf.mu.Unlock()
	if !conf.closed {
		conf.closed = true
		close(conf.events)
	}
}

// request is a conference callback to the conference's event target.
func (conf *conference) request(ev bxml.Event, c *Call) callflow.Request {
	ev.Fill(&bxml.CallInfo{})
	return callflow.Request{Event: ev, Target: conf.target, Base: conf.base, Call: c}
}

// notifier sends the conference's callbacks one at a time, in order, until
// the conference completed and the queue is drained. The engine's wait
// group owns it.
func (conf *conference) notifier() {
	defer conf.e.wg.Done()
	for ce := range conf.events {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := conf.e.source.Fetch(ctx, conf.request(ce.ev, ce.call)); err != nil {
			ce.call.logf(slog.LevelWarn, "conference", "%s: %v", ce.ev.Type(), err)
		}
		cancel()
	}
}

// confRunner runs BXML against a conference, one document at a time: a new
// one (updateConferenceBxml, a conferenceRedirect answer) stops the one
// running, as a call's redirect does.
type confRunner struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// start stops the running document and runs fetch's in a goroutine the
// engine's wait group owns.
func (r *confRunner) start(conf *conference, fetch func(ctx context.Context) (*bxml.Document, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	ctx, cancel := context.WithCancel(conf.ctx)
	done := make(chan struct{})
	r.cancel, r.done = cancel, done
	conf.e.wg.Add(1)
	go func() {
		defer conf.e.wg.Done()
		defer close(done)
		defer cancel()
		doc, err := fetch(ctx)
		if err == nil && doc != nil {
			err = conf.run(ctx, doc)
		}
		if err != nil && ctx.Err() == nil {
			conf.creator.logf(slog.LevelWarn, "conference", "conference %s BXML: %v", conf.id, err)
		}
	}()
}

// stop ends the running document and waits for it.
func (r *confRunner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// run executes the verbs of doc that work on a conference.
func (conf *conference) run(ctx context.Context, doc *bxml.Document) error {
	if err := bxml.CheckConference(doc); err != nil {
		return err
	}
	for _, v := range doc.Verbs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch v := v.(type) {
		case *bxml.PlayAudio:
			err = conf.mx.Play(ctx, playSource(v))
		case *bxml.SpeakSentence:
			err = conf.mx.Speak(ctx, speechText(v), media.Voice{Name: v.Voice, Gender: v.Gender, Locale: v.Locale})
		case *bxml.StartRecording:
			err = conf.startRecording(v)
		case *bxml.StopRecording:
			conf.stopRecording()
		case *bxml.PauseRecording:
			conf.pauseRecording(true)
		case *bxml.ResumeRecording:
			conf.pauseRecording(false)
		case *bxml.Tag:
			conf.mu.Lock()
			conf.tag = v.Value
			conf.mu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", v.VerbName(), err)
		}
	}
	return nil
}

// RedirectConference sends conferenceRedirect to t and runs the BXML it
// answers against the conference (updateConference with a redirectUrl).
func (e *Engine) RedirectConference(accountID, id string, t bxml.Target) error {
	conf, err := e.conference(accountID, id)
	if err != nil {
		return err
	}
	conf.runner.start(conf, func(ctx context.Context) (*bxml.Document, error) {
		req := conf.request(&bxml.ConferenceRedirectEvent{ConferenceEvent: conf.eventBase()}, conf.creator)
		req.Target, req.Base = t, ""
		reply, err := e.source.Fetch(ctx, req)
		return reply.Doc, err
	})
	return nil
}

// ReplaceConferenceBXML runs doc against the conference
// (updateConferenceBxml).
func (e *Engine) ReplaceConferenceBXML(accountID, id string, doc *bxml.Document) error {
	conf, err := e.conference(accountID, id)
	if err != nil {
		return err
	}
	conf.runner.start(conf, func(context.Context) (*bxml.Document, error) { return doc, nil })
	return nil
}

// confRecording is the recording of a conference's mix.
type confRecording struct {
	r     *media.Recording
	id    string
	name  string
	start time.Time
	t     bxml.Target // where conferenceRecordingAvailable goes
}

func (conf *conference) startRecording(v *bxml.StartRecording) error {
	conf.mu.Lock()
	defer conf.mu.Unlock()
	if conf.rec != nil {
		return nil // one recording of the mix at a time, as for a call
	}
	id := newRecordingID()
	dir := filepath.Join(conf.e.dataDir, "recordings", conf.accountID, conf.id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recording dir: %w", err)
	}
	r, err := conf.mx.StartRecording(filepath.Join(dir, id+".wav"), media.RecordOptions{})
	if err != nil {
		return err
	}
	t := conf.target
	if v.RecordingAvailableURL != "" {
		t = v.RecordingAvailableTarget()
	}
	conf.rec = &confRecording{r: r, id: id, name: v.RecordingName, start: time.Now().UTC(), t: t}
	conf.e.log.Info("conference recording started", "conferenceId", conf.id, "recordingId", id)
	return nil
}

func (conf *conference) pauseRecording(pause bool) {
	conf.mu.Lock()
	defer conf.mu.Unlock()
	if conf.rec == nil {
		return
	}
	if pause {
		conf.rec.r.Pause()
	} else {
		conf.rec.r.Resume()
	}
}

// stopRecording ends the recording of the mix, indexes it and sends
// conferenceRecordingAvailable.
func (conf *conference) stopRecording() {
	conf.mu.Lock()
	rec := conf.rec
	conf.rec = nil
	conf.mu.Unlock()
	if rec == nil {
		return
	}
	res, err := rec.r.Stop()
	if err != nil {
		conf.e.log.Warn("conference recording", "conferenceId", conf.id, "recordingId", rec.id, "error", err)
		return
	}
	end := time.Now().UTC()
	// In a bucket when the node has one (--recording-storage), under the
	// conference's ID where a call's recordings have the call's.
	ref := conf.e.keepRecording(context.Background(), conf.accountID, conf.id, rec.id, res.Path, "wav")
	row := store.ConferenceRecordingRecord{ID: rec.id, AccountID: conf.accountID, ConferenceID: conf.id, Channels: 1, FileFormat: "wav",
		Status: store.RecordingComplete, FilePath: ref, SizeBytes: res.Size, DurationMS: res.Duration.Milliseconds(),
		StartTime: rec.start, EndTime: end, Name: rec.name}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conf.e.store.CreateConferenceRecording(ctx, row); err != nil {
		conf.e.log.Warn("conference recording", "conferenceId", conf.id, "recordingId", rec.id, "error", err)
		if ref != res.Path {
			conf.e.kept.Remove(ctx, ref) // the upload nothing names
		}
		return
	}
	conf.e.kept.Discard(res.Path, ref)
	ev := &bxml.ConferenceRecordingAvailableEvent{ConferenceEvent: conf.eventBase(), AccountID: conf.accountID, RecordingID: rec.id,
		Channels: 1, StartTime: bxml.At(rec.start), EndTime: bxml.At(end), Duration: isoDuration(res.Duration), FileFormat: "wav",
		MediaURL: conf.e.baseURL + "/api/v2/accounts/" + conf.accountID + "/conferences/" + conf.id + "/recordings/" + rec.id + "/media",
		Status:   store.RecordingComplete}
	if rec.t == conf.target {
		conf.notify(ev, conf.creator)
		return
	}
	conf.notifyTo(ev, rec.t) // a StartRecording with its own recordingAvailableUrl
}

// notifyTo sends ev to t (not the conference's event URL).
func (conf *conference) notifyTo(ev bxml.Event, t bxml.Target) {
	req := conf.request(ev, conf.creator)
	req.Target = t
	conf.e.deliver(req, conf.creator)
}
