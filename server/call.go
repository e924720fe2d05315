package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// Call states, as the Voice API names them.
const (
	stateInitiated    = "initiated"
	stateAnswered     = "answered"
	stateDisconnected = "disconnected"
)

// maxCallbacks bounds how many BXML documents one call may run, so a
// backend that answers every gather with another gather cannot pin a call
// forever by accident; a real IVR stays far below it.
const maxCallbacks = 1000

// Call is one live call leg with its own callId: an inbound call, an
// outbound call, or the B-leg of a transfer. Its BXML program runs in the
// goroutine that called run*; other goroutines (the API, the SIP side) only
// read its state under mu or cancel it.
type Call struct {
	e   *Engine
	id  string
	app store.Application
	log *slog.Logger

	ctx    context.Context // ends when the call ends
	cancel context.CancelFunc

	mu        sync.Mutex
	info      bxml.CallInfo
	state     string
	cause     string
	errMsg    string
	vars      map[string]string
	logs      []store.LogEntry
	sipCallID string
	answered  bool
	localSDP  []byte
	base      string // URL of the running document, for its relative URLs
	// interrupt stops the running verb and runs a function on the call's
	// goroutine that returns the next program: updateCall's redirect, PUT
	// bxml, or another call's <Bridge> taking this one over.
	interrupt chan takeover

	sipIn   *sip.InboundCall
	sipOut  *sip.OutboundCall
	sess    *media.Session
	ownSess bool
	leg     *media.Leg

	// Set by createCall: where this call's disconnect callback goes, with
	// which credentials (inbound calls use the application's settings).
	disconnectURL, disconnectMethod string
	cbUser, cbPass                  string

	digits     chan rune
	stopDTMF   func()
	gatherStop context.CancelFunc
	recording  *activeRecording
}

// takeover computes the next program of an interrupted call.
type takeover func(ctx context.Context) (*bxml.Document, error)

// ErrBusy is returned when a call already has a takeover pending.
var ErrBusy = errors.New("call is busy with another redirect or bridge")

// Redirect interrupts the call's program with fn's result.
func (c *Call) Redirect(fn takeover) error {
	select {
	case c.interrupt <- fn:
		return nil
	case <-c.ctx.Done():
		return ErrCallEnded
	default:
		return ErrBusy
	}
}

// ErrCallEnded is returned for a call that ended meanwhile.
var ErrCallEnded = errors.New("call has ended")

func newCallID() string { return "c-" + uuid.NewString() }

func newCall(e *Engine, app store.Application, direction string) *Call {
	id := newCallID()
	now := time.Now().UTC()
	c := &Call{
		e: e, id: id, app: app, state: stateInitiated, vars: map[string]string{},
		digits: make(chan rune, 64), interrupt: make(chan takeover, 1),
		info: bxml.CallInfo{
			AccountID: app.AccountID, ApplicationID: app.ID, Direction: direction, CallID: id,
			CallURL: e.baseURL + "/api/v2/accounts/" + app.AccountID + "/calls/" + id, StartTime: now,
		},
	}
	c.log = e.log.With("call_id", id, "account_id", app.AccountID, "application_id", app.ID)
	return c
}

// ID is the call's callId.
func (c *Call) ID() string { return c.id }

// Snapshot is the call's state as the Voice API shows it.
func (c *Call) Snapshot() store.CallRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	vars := make(map[string]string, len(c.vars))
	for k, v := range c.vars {
		vars[k] = v
	}
	return store.CallRecord{
		ID: c.id, AccountID: c.app.AccountID, ApplicationID: c.app.ID, ParentCallID: c.info.ParentCallID,
		Direction: c.info.Direction, From: c.info.From, To: c.info.To, State: c.state, SIPCallID: c.sipCallID,
		Tag: c.info.Tag, Variables: vars, EnqueuedTime: c.info.EnqueuedTime, StartTime: c.info.StartTime,
		AnswerTime: c.info.AnswerTime, EndTime: c.info.EndTime, DisconnectCause: c.cause,
		ErrorMessage: c.errMsg, LastUpdate: time.Now().UTC(),
	}
}

// logf adds a line to the call's log (kept with the call record) and to
// the node log.
func (c *Call) logf(level slog.Level, source, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.log.Log(context.Background(), level, msg, "source", source)
	c.mu.Lock()
	if len(c.logs) < 1000 {
		c.logs = append(c.logs, store.LogEntry{At: time.Now().UTC(), Level: strings.ToLower(level.String()), Source: source, Message: msg})
	}
	c.mu.Unlock()
}

// end records why the call ends (first reason wins) and stops its program.
func (c *Call) end(cause, msg string) {
	c.mu.Lock()
	if c.cause == "" {
		c.cause, c.errMsg = cause, msg
	}
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *Call) snapshotInfo() bxml.CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

// runInbound answers the media offer, asks the application what to do, and
// runs the answers until the call ends.
func (c *Call) runInbound(sipCtx context.Context) {
	c.ctx, c.cancel = context.WithCancel(sipCtx)
	defer c.cancel()
	in := c.sipIn
	c.sess = c.e.media.NewSession(media.SessionOptions{Logger: c.log})
	c.ownSess = true
	defer c.finish()
	go func() {
		// The SIP side ending (BYE, CANCEL, timeout) ends the call.
		select {
		case <-in.Done():
			c.end(causeFor(in.EndReason()), "")
		case <-c.ctx.Done():
		}
	}()
	leg, err := c.sess.NewLeg("caller")
	if err != nil {
		c.logf(slog.LevelError, "media", "no media leg: %v", err)
		in.Reject(503, "Service Unavailable")
		c.end(bxml.CauseNodeCapacityExceeded, err.Error())
		return
	}
	c.leg = leg
	answer, err := leg.Answer(in.Request.Body(), media.AnswerOptions{})
	if err != nil {
		c.logf(slog.LevelWarn, "media", "offer refused: %v", err)
		in.Reject(488, "Not Acceptable Here")
		c.end(bxml.CauseRejected, err.Error())
		return
	}
	c.localSDP = answer
	c.startDTMF()
	doc, err := c.fetch(c.initiateTarget(), &bxml.InitiateEvent{})
	if err != nil {
		c.endWithError(err)
		return
	}
	c.program(doc)
}

func (c *Call) initiateTarget() bxml.Target {
	a := c.app
	return bxml.Target{
		URL: a.CallInitiatedCallbackURL, Method: a.CallInitiatedMethod,
		FallbackURL: a.CallInitiatedFallbackURL, FallbackMethod: a.CallInitiatedFallbackMethod,
		Username: a.CallbackUsername, Password: a.CallbackPassword,
		FallbackUsername: a.CallbackUsername, FallbackPassword: a.CallbackPassword,
	}
}

// program runs BXML documents until one ends the call.
func (c *Call) program(doc *bxml.Document) {
	for n := 0; ; n++ {
		if c.ctx.Err() != nil {
			return
		}
		if n >= maxCallbacks {
			c.end(bxml.CauseApplicationError, fmt.Sprintf("more than %d BXML documents in one call", maxCallbacks))
			return
		}
		if doc == nil {
			c.end(bxml.CauseHangup, "") // no (more) BXML: the call is done
			return
		}
		var err error
		runCtx, stop := context.WithCancel(c.ctx)
		next := make(chan takeover, 1)
		go func() {
			select {
			case t := <-c.interrupt:
				next <- t
				stop()
			case <-runCtx.Done():
			}
		}()
		out, err := bxml.Run(runCtx, doc, c)
		stop()
		select {
		case t := <-next:
			if doc, err = t(c.ctx); err != nil {
				if c.ctx.Err() == nil {
					c.endWithError(err)
				}
				return
			}
			continue
		default:
		}
		if err != nil {
			if c.ctx.Err() != nil {
				return // the call ended while the verb ran
			}
			c.endWithError(err)
			return
		}
		switch out.Kind {
		case bxml.OutcomeCallback:
			doc, err = c.fetch(out.Target, out.Event)
			if err != nil {
				c.endWithError(err)
				return
			}
		case bxml.OutcomeForwarded:
			c.end(bxml.CauseHangup, "")
			return
		default: // OutcomeEnd, OutcomeHangup
			c.end(bxml.CauseHangup, "")
			return
		}
	}
}

// endWithError ends the call with the cause an error maps to. An error that
// only says the call's context ended is not the cause: whatever ended the
// context recorded it, or finish reads it from the SIP leg.
func (c *Call) endWithError(err error) {
	if c.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	switch cause := callflow.Cause(err); {
	case errors.Is(err, ErrModuleFailed):
		c.end(bxml.CauseApplicationError, err.Error()) // fetchModule logged it
	case errors.Is(err, media.ErrTTSUnavailable):
		c.logf(slog.LevelError, "media", "%v", err)
		c.end(bxml.CauseApplicationError, "SpeakSentence needs text-to-speech, which this node does not have (install espeak-ng)")
	case cause == bxml.CauseInvalidBXML || cause == bxml.CauseCallbackError:
		c.logf(slog.LevelError, "callback", "%v", err)
		c.end(cause, err.Error())
	default:
		c.logf(slog.LevelError, "engine", "%v", err)
		c.end(bxml.CauseError, err.Error())
	}
}

// fetch sends ev to t and returns the BXML answer (nil for none).
func (c *Call) fetch(t bxml.Target, ev bxml.Event) (*bxml.Document, error) {
	info := c.snapshotInfo()
	ev.Fill(&info)
	if c.usesModule(store.ModuleEventCall) {
		if doc, handled, err := c.fetchModule(c.ctx, t, ev); handled {
			return doc, err
		}
	}
	if t.IsZero() {
		return nil, nil
	}
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	reply, err := c.e.source.Fetch(c.callbackContext(c.ctx), callflow.Request{Event: ev, Target: t, Base: base})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if reply.URL != "" {
		c.base = reply.URL
	}
	c.mu.Unlock()
	c.logf(slog.LevelDebug, "callback", "%s answered by %s", ev.Type(), reply.URL)
	return reply.Doc, nil
}

// notify sends an event whose answer is ignored, in its own goroutine so a
// slow backend never holds the call; the engine's wait group owns it.
func (c *Call) notify(t bxml.Target, ev bxml.Event) {
	if c.usesModule(store.ModuleEventCall) {
		c.notifyModule(t, ev)
		return
	}
	if t.IsZero() {
		return
	}
	info := c.snapshotInfo()
	ev.Fill(&info)
	c.e.wg.Add(1)
	go func() {
		defer c.e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.mu.Lock()
		base := c.base
		c.mu.Unlock()
		if _, err := c.e.source.Fetch(c.callbackContext(ctx), callflow.Request{Event: ev, Target: t, Base: base}); err != nil {
			c.logf(slog.LevelWarn, "callback", "%s: %v", ev.Type(), err)
		}
	}()
}

// sipEndCause is the cause the call's SIP leg gives once it has ended, or "".
func (c *Call) sipEndCause() string {
	var r sip.EndReason
	if c.sipIn != nil {
		r = c.sipIn.EndReason()
	} else if c.sipOut != nil {
		r = c.sipOut.EndReason()
	}
	if r == "" {
		return ""
	}
	return causeFor(r)
}

func causeFor(r sip.EndReason) string {
	switch r {
	case sip.EndCanceled:
		return bxml.CauseCancel
	case sip.EndTimeout:
		return bxml.CauseTimeout
	case sip.EndFailed:
		return bxml.CauseError
	}
	return bxml.CauseHangup
}

// finish hangs up what is still up, tells the application, and writes the
// call record with its SIP trace and log.
func (c *Call) finish() {
	// The SIP side may have ended the call (CANCEL, BYE) before the goroutine
	// watching it ran; its reason comes before the default.
	if cause := c.sipEndCause(); cause != "" {
		c.end(cause, "")
	}
	c.end(bxml.CauseHangup, "")
	c.stopBackground()
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	answered, cause := c.answered, c.cause
	c.mu.Unlock()
	if in := c.sipIn; in != nil {
		select {
		case <-in.Done():
		default:
			if answered {
				in.Hangup(hctx)
			} else {
				status, reason := rejectStatus(cause)
				in.Reject(status, reason)
			}
		}
	}
	if out := c.sipOut; out != nil {
		select {
		case <-out.Done():
		default:
			out.Hangup(hctx)
		}
	}
	if c.ownSess && c.sess != nil {
		c.sess.Close()
	} else if c.leg != nil {
		c.leg.Close()
	}
	c.mu.Lock()
	c.state = stateDisconnected
	c.info.EndTime = time.Now().UTC()
	c.mu.Unlock()
	rec := c.Snapshot()
	callsEnded.WithLabelValues(rec.Direction, rec.DisconnectCause).Inc()
	c.logf(slog.LevelInfo, "engine", "call ended: %s %s", rec.DisconnectCause, rec.ErrorMessage)
	// Saved before the disconnect callback goes out, so an application
	// that reads the call's state or log when it gets the callback finds it.
	c.persist(rec)
	c.sendDisconnect(rec)
}

func rejectStatus(cause string) (int, string) {
	switch cause {
	case bxml.CauseHangup:
		return 603, "Decline"
	case bxml.CauseRejected:
		return 488, "Not Acceptable Here"
	case bxml.CauseNodeCapacityExceeded:
		return 503, "Service Unavailable"
	case bxml.CauseCancel:
		return 487, "Request Terminated"
	}
	return 500, "Server Internal Error"
}

func (c *Call) sendDisconnect(rec store.CallRecord) {
	t := bxml.Target{
		URL: c.app.CallStatusCallbackURL, Method: c.app.CallStatusCallbackMethod,
		Username: c.app.CallbackUsername, Password: c.app.CallbackPassword,
	}
	if c.disconnectURL != "" {
		t = bxml.Target{URL: c.disconnectURL, Method: c.disconnectMethod, Username: c.cbUser, Password: c.cbPass}
	}
	ev := &bxml.DisconnectEvent{Cause: rec.DisconnectCause, ErrorMessage: rec.ErrorMessage}
	c.notify(t, ev)
}

func (c *Call) persist(rec store.CallRecord) {
	var trace []store.SIPMessage
	for _, tr := range []*sip.Trace{c.trace()} {
		if tr == nil {
			continue
		}
		for _, e := range tr.Entries() {
			trace = append(trace, store.SIPMessage{At: e.Time, Direction: string(e.Direction), Transport: e.Transport,
				LocalAddr: e.Local, RemoteAddr: e.Remote, Message: e.Message})
		}
	}
	c.mu.Lock()
	logs := append([]store.LogEntry(nil), c.logs...)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.SaveCall(ctx, rec, trace, logs); err != nil {
		c.log.Error("save call record", "err", err)
	}
}

func (c *Call) trace() *sip.Trace {
	if c.sipIn != nil {
		return c.sipIn.Trace()
	}
	if c.sipOut != nil {
		return c.sipOut.Trace()
	}
	return nil
}

func uriUser(addr string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(addr, "sip:"), "sips:")
	if user, _, ok := strings.Cut(s, "@"); ok {
		return user
	}
	return s
}
