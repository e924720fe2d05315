package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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

// Call is one live call leg with its own callId: an inbound call, an
// outbound call, or the B-leg of a transfer. Its BXML program runs in the
// goroutine that called run*; other goroutines (the API, the SIP side) only
// read its state under mu or cancel it.
type Call struct {
	e   *Engine
	id  string
	app store.Application // set before the call is live; never changes after
	log *slog.Logger

	ctx    context.Context // ends when the call ends
	cancel context.CancelFunc
	// onEvent answers the callbacks of a system call (SystemCall.OnEvent);
	// nil for every other call. Set before the call is live.
	onEvent func(ctx context.Context, ev bxml.Event) (*bxml.Document, error)
	// system marks a call the node places for itself (SystemCall): it rings
	// a number from that number, which is what verifies it, so its caller ID
	// is not checked. Set before the call is live.
	system bool

	mu        sync.Mutex
	info      bxml.CallInfo
	state     string
	cause     string
	errMsg    string
	vars      map[string]string
	logs      []store.LogEntry
	sipCallID string
	sipRoute  store.CallSIPRoute // the number's route and the INVITE's final response
	answered  bool
	early     bool // a 183 with SDP went out: prompts before the answer are early media
	localSDP  []byte
	base      string // URL of the running document, for its relative URLs
	// interrupt stops the running verb and runs a function on the call's
	// goroutine that returns the next program: updateCall's redirect, PUT
	// bxml, or another call's <Bridge> taking this one over.
	interrupt chan takeover

	invite Invite // the INVITE of an inbound call
	// answerCodecs are a trunk's codec settings for the answer to its
	// INVITE (nil: the server's order). Set before the call is live.
	answerCodecs media.CodecList
	sipIn        InboundLeg
	sipOut       OutboundLeg
	// dialTrace is the trace of an outbound call whose dial failed.
	dialTrace *sip.Trace
	sess      *media.Session
	ownSess   bool
	leg       *media.Leg

	// Set by createCall: where this call's disconnect callback goes, with
	// which credentials (inbound calls use the application's settings).
	disconnectURL, disconnectMethod string
	cbUser, cbPass                  string
	// cbTimeout is createCall's callbackTimeout: how long each of the
	// call's callbacks may take (0: the source's default).
	cbTimeout time.Duration

	capacity capacityKeys // slots taken under the engine's caps
	// forks are the call's media streams and real-time transcriptions.
	forks forkSet

	digits     chan rune
	stopDTMF   func()
	gatherStop context.CancelFunc
	recording  *activeRecording
	// idleLegs ends transfer legs of this call's session on a media
	// timeout (watch); guarded by mu.
	idleLegs map[*media.Leg]func(msg string)

	// REFERs that move this call to another party (refer.go), guarded by
	// mu: how many are under way, the last party one bridged it with, and a
	// channel closed on every change.
	referPending int
	handover     *handover
	referChanged chan struct{}
	// bridgedWith is the call this transfer leg is bridged with and may
	// move away by REFER (nil until then), guarded by mu.
	bridgedWith *Call
}

var _ callflow.Call = (*Call)(nil)

// takeover computes the next program of an interrupted call.
type takeover func(ctx context.Context) (*bxml.Document, error)

// ErrBusy is returned when a call already has a takeover pending.
var ErrBusy = errors.New("call is busy with another redirect or bridge")

// ErrCallEnded is returned for a call that ended meanwhile.
var ErrCallEnded = errors.New("call has ended")

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
	c.log = e.log.With("callId", id, "accountId", app.AccountID, "applicationId", app.ID)
	return c
}

// ID is the call's callId.
func (c *Call) ID() string { return c.id }

// Application implements callflow.Call.
func (c *Call) Application() store.Application { return c.app }

// Variables implements callflow.Call.
func (c *Call) Variables() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.vars)
}

// SetVariables implements callflow.Call.
func (c *Call) SetVariables(vs map[string]string) { c.setVars(vs) }

func (c *Call) setVars(vs map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	maps.Copy(c.vars, vs)
}

// Logf implements callflow.Call.
func (c *Call) Logf(level slog.Level, source, format string, args ...any) {
	c.logf(level, source, format, args...)
}

// Snapshot is the call's state as the Voice API shows it.
func (c *Call) Snapshot() store.CallRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return store.CallRecord{
		ID: c.id, AccountID: c.app.AccountID, ApplicationID: c.app.ID, ParentCallID: c.info.ParentCallID,
		Direction: c.info.Direction, From: c.info.From, To: c.info.To, State: c.state, SIPCallID: c.sipCallID,
		Tag: c.info.Tag, Variables: maps.Clone(c.vars), EnqueuedTime: c.info.EnqueuedTime, StartTime: c.info.StartTime,
		AnswerTime: c.info.AnswerTime, EndTime: c.info.EndTime, DisconnectCause: c.cause,
		ErrorMessage: c.errMsg, LastUpdate: time.Now().UTC(), SIPRoute: c.sipRoute,
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
	c.publishLog(level, source, msg)
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

// watch is the call's one watcher goroutine. The SIP side ending (BYE,
// CANCEL, timeout) ends the call. A leg of its media session that received
// no RTP or RTCP for the media timeout after its answer ends the call leg
// it belongs to: the peer vanished without a BYE (a crashed phone, a
// dropped NAT binding), and a call left up would hold its slot and ports
// for good.
func (c *Call) watch(sipLeg Leg) {
	go func() {
		for {
			select {
			case <-sipLeg.Done():
				c.end(causeFor(sipLeg.EndReason()), "")
				return
			case l := <-c.sess.Idle():
				msg := fmt.Sprintf("media timeout: no RTP or RTCP received on the %s leg for %s", l.Name(), c.e.media.IdleTimeout())
				if end := c.idleEnd(l); end != nil {
					end(msg)
				}
			case <-c.ctx.Done():
				return
			}
		}
	}()
}

// idleEnd returns what ends the call leg that owns l: this call, or a
// transfer leg registered with onIdle.
func (c *Call) idleEnd(l *media.Leg) func(msg string) {
	if l == c.leg {
		return c.mediaTimedOut
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idleLegs[l]
}

func (c *Call) mediaTimedOut(msg string) {
	c.logf(slog.LevelWarn, "media", "%s", msg)
	c.end(bxml.CauseError, msg)
}

// onIdle registers end for the transfer leg l until the returned func is
// called.
func (c *Call) onIdle(l *media.Leg, end func(msg string)) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idleLegs == nil {
		c.idleLegs = map[*media.Leg]func(string){}
	}
	c.idleLegs[l] = end
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.idleLegs, l)
	}
}
