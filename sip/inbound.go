package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// EndReason says why a call leg ended.
type EndReason string

const (
	EndRemoteBye EndReason = "remote-bye" // the peer sent BYE
	EndLocalBye  EndReason = "local-bye"  // we sent BYE (Hangup)
	EndCanceled  EndReason = "cancel"     // the caller sent CANCEL before answer (we answered 487)
	EndRejected  EndReason = "rejected"   // we answered with a final error response
	EndTimeout   EndReason = "timeout"    // no answer in time, or the transaction timed out
	EndShutdown  EndReason = "shutdown"   // the server shut down
	EndFailed    EndReason = "failed"     // the dialog broke (transport error, no ACK)
)

// ErrCallEnded is returned by call methods used after the call ended.
var ErrCallEnded = errors.New("sip: call ended")

// ReinviteFunc answers an in-dialog re-INVITE. req is the re-INVITE (its
// body is the new offer, X-* headers removed); the returned SDP is sent in
// the 200 OK. An error answers 488 Not Acceptable Here.
type ReinviteFunc func(ctx context.Context, req *sip.Request) (answerSDP []byte, err error)

// traceLinger keeps a finished call's trace registered a little longer, so
// the last messages (the 487 after a CANCEL, the ACK to it) are captured.
const traceLinger = 3 * time.Second

// InboundCall is the server leg of an accepted INVITE: the B2BUA side the
// call engine answers, rejects or hangs up.
type InboundCall struct {
	// Application is the voice application the Request-URI named, or the
	// one the phone number it named routes to.
	Application Application
	// Number is the route of the phone number the Request-URI named (a call
	// from a trunk); nil for a call to an application's SIP URI.
	Number *NumberRoute
	// Source is the address the INVITE came from; Transport is UDP, TCP or TLS.
	Source    netip.AddrPort
	Transport string
	// CallID is the SIP Call-ID.
	CallID string
	// Request is the INVITE with every X-* header removed.
	Request *sip.Request
	// XHeaders are the removed X-* headers, in order, for deliberate mapping.
	XHeaders []Header

	srv     *Server
	session *sipgo.DialogServerSession
	trace   *Trace

	ctx    context.Context
	cancel context.CancelFunc

	// writeMu serialises everything sent on the INVITE dialog: sipgo's
	// session records the last response without a lock of its own.
	writeMu   sync.Mutex
	finalOnce sync.Once
	final     chan struct{} // closed once a final response was sent (2xx: ACKed)
	answered  atomic.Bool

	pending atomic.Pointer[EndReason]
	endOnce sync.Once
	done    chan struct{}
	reason  EndReason

	reinviteState
	referState
}

// Context ends when the call ends.
func (c *InboundCall) Context() context.Context { return c.ctx }

// Done is closed when the call has ended; EndReason then says why.
func (c *InboundCall) Done() <-chan struct{} { return c.done }

// EndReason returns why the call ended, or "" while it is alive.
func (c *InboundCall) EndReason() EndReason {
	select {
	case <-c.done:
		return c.reason
	default:
		return ""
	}
}

// Trace returns the call's SIP trace: every message in and out.
func (c *InboundCall) Trace() *Trace { return c.trace }

// Ringing sends 180 Ringing.
func (c *InboundCall) Ringing() error {
	return c.provisional(sip.StatusRinging, "Ringing", nil)
}

// Progress sends 183 Session Progress with early-media SDP.
func (c *InboundCall) Progress(sdp []byte) error {
	return c.provisional(sip.StatusSessionInProgress, "Session Progress", sdp)
}

func (c *InboundCall) provisional(status int, reason string, sdp []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isFinal() || c.answered.Load() {
		return ErrCallEnded
	}
	var hdrs []sip.Header
	if sdp != nil {
		hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))
	}
	if err := c.session.Respond(status, reason, sdp, hdrs...); err != nil {
		return fmt.Errorf("sip: %d %s: %w", status, reason, err)
	}
	return nil
}

// Answer sends 200 OK with sdp and waits for the ACK (retransmitting the 200
// as RFC 3261 says) or until ctx ends.
func (c *InboundCall) Answer(ctx context.Context, sdp []byte) error {
	if len(sdp) == 0 {
		return errors.New("sip: Answer needs an SDP")
	}
	c.writeMu.Lock()
	if c.isFinal() || c.answered.Load() {
		c.writeMu.Unlock()
		return ErrCallEnded
	}
	c.setLocalSDP(sdp)
	c.answered.Store(true)
	errc := make(chan error, 1)
	go func() {
		defer c.writeMu.Unlock()
		// Bounded by 64*T1 in sipgo: the 200 is retransmitted until ACK.
		err := c.session.RespondSDP(sdp)
		c.markFinal()
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			c.answered.Store(false)
			return fmt.Errorf("sip: answer: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reject answers the INVITE with a final error response (status 300-699),
// with extra headers (a Retry-After with 503, say).
func (c *InboundCall) Reject(status int, reason string, headers ...Header) error {
	if status < 300 || status > 699 {
		return fmt.Errorf("sip: reject status %d out of range", status)
	}
	return c.reject(status, reason, EndRejected, headers...)
}

func (c *InboundCall) reject(status int, reason string, why EndReason, headers ...Header) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isFinal() || c.answered.Load() {
		return ErrCallEnded
	}
	c.setPending(why)
	hs := make([]sip.Header, 0, len(headers))
	for _, h := range headers {
		hs = append(hs, sip.NewHeader(h.Name, h.Value))
	}
	err := c.session.Respond(status, reason, nil, hs...)
	c.markFinal()
	c.finish(why)
	if err != nil {
		return fmt.Errorf("sip: reject %d: %w", status, err)
	}
	return nil
}

// Hangup ends the call from our side: BYE once answered; before that the
// INVITE is rejected with 480 Temporarily Unavailable.
func (c *InboundCall) Hangup(ctx context.Context) error {
	return c.hangup(ctx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", EndLocalBye)
}

func (c *InboundCall) hangup(ctx context.Context, status int, reason string, why EndReason) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if !c.answered.Load() {
		if why == EndLocalBye {
			why = EndRejected
		}
		return c.reject(status, reason, why)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.setPending(why)
	err := c.session.Bye(ctx)
	c.finish(why)
	if err != nil {
		return fmt.Errorf("sip: bye: %w", err)
	}
	return nil
}

func (c *InboundCall) isFinal() bool {
	select {
	case <-c.final:
		return true
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *InboundCall) markFinal() { c.finalOnce.Do(func() { close(c.final) }) }

func (c *InboundCall) setPending(r EndReason) {
	c.pending.CompareAndSwap(nil, &r)
}

// finish ends the call once: first reason wins.
func (c *InboundCall) finish(r EndReason) {
	c.endOnce.Do(func() {
		if p := c.pending.Load(); p != nil {
			r = *p
		}
		c.reason = r
		c.srv.inbound.Delete(c.session.ID)
		metricCallsActive.Dec()
		// Done before the context: whoever sees the context end can
		// already read EndReason.
		close(c.done)
		c.cancel()
		t := c.trace
		time.AfterFunc(traceLinger, func() { stopTrace(t) })
		c.srv.log.Info("sip call ended", "callId", c.CallID, "applicationId", c.Application.ID, "reason", string(r))
	})
}

// accept turns an INVITE that passed every check into an InboundCall,
// hands it to the engine and holds the INVITE transaction until the call
// has a final response.
func (s *Server) accept(req *sip.Request, tx sip.ServerTransaction, v verdict) {
	metricAccepted.Inc()
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	dua := &sipgo.DialogUA{Client: s.client, ContactHDR: s.contactFor(req.Transport()), RewriteContact: true}
	session, err := dua.ReadInvite(req, tx)
	if err != nil {
		s.refuse(req, tx, verdict{status: sip.StatusBadRequest, reason: reasonMalformed, err: err, app: v.app})
		return
	}
	trace := startTrace(callID, headerTag(session.InviteRequest.To()), req)
	trace.add(TraceEntry{Time: time.Now(), Direction: DirectionIn, Transport: req.Transport(), Local: s.localAddr(req.Transport()), Remote: req.Source(), Message: req.String()})

	trying := sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil)
	if err := tx.Respond(trying); err != nil {
		s.log.Debug("100 Trying", "error", err)
	}
	clean, xs := stripXHeaders(req)
	ctx, cancel := context.WithCancel(s.ctx)
	c := &InboundCall{
		Application: v.app,
		Number:      v.route,
		Source:      v.source,
		Transport:   req.Transport(),
		CallID:      callID,
		Request:     clean,
		XHeaders:    xs,
		srv:         s,
		session:     session,
		trace:       trace,
		ctx:         ctx,
		cancel:      cancel,
		final:       make(chan struct{}),
		done:        make(chan struct{}),
	}
	s.inbound.Store(session.ID, c)
	metricCallsActive.Inc()
	// sipgo keeps the dialog, and with it this callback, for the INVITE
	// transaction's lifetime: 32 s past the answer on UDP (RFC 6026 Timer
	// L). A strong reference would keep the ended call (its trace, its
	// request) alive that long: at 300 calls/s, 9,600 ended calls and
	// ~150 MB of heap. While the call is live the engine holds it.
	wc := weak.Make(c)
	session.OnState(func(st sip.DialogState) {
		c := wc.Value()
		if st != sip.DialogStateEnded || c == nil {
			return
		}
		switch cause := context.Cause(session.Context()); {
		case errors.Is(cause, sip.ErrTransactionCanceled):
			c.finish(EndCanceled)
		case c.answered.Load():
			c.finish(EndRemoteBye)
		default:
			c.finish(EndTimeout)
		}
	})
	s.log.Info("sip call accepted", "callId", callID, "applicationId", v.app.ID, "accountId", v.app.AccountID, "source", v.source.String(), "transport", c.Transport)

	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		s.handler.HandleInvite(ctx, c)
	}()

	timer := time.NewTimer(s.cfg.AnswerTimeout)
	defer timer.Stop()
	select {
	case <-c.final:
	case <-c.done:
	case <-timer.C:
		if err := c.reject(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", EndTimeout); err != nil {
			s.log.Debug("answer timeout reject", "callId", callID, "error", err)
		}
	case <-s.ctx.Done():
		if err := c.reject(sip.StatusServiceUnavailable, "Service Unavailable", EndShutdown); err != nil {
			s.log.Debug("shutdown reject", "callId", callID, "error", err)
		}
	}
}

// onInvite runs the front door on a new INVITE, or hands a re-INVITE to its
// dialog.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("INVITE").Inc()
	if hasToTag(req) {
		s.onReinvite(req, tx)
		return
	}
	if s.ctx.Err() != nil {
		s.refuse(req, tx, reject(sip.StatusServiceUnavailable, reasonShuttingDown))
		return
	}
	v := s.checkInvite(s.ctx, req, time.Now())
	if v.status != 0 {
		s.refuse(req, tx, v)
		return
	}
	s.accept(req, tx, v)
}

func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	var leg *reinviteState
	var dialog interface {
		ReadRequest(*sip.Request, sip.ServerTransaction) error
	}
	var ctx context.Context
	var callID string
	if c := s.inboundFor(req); c != nil {
		leg, dialog, ctx, callID = &c.reinviteState, c.session, c.ctx, c.CallID
	} else if c := s.outboundFor(req); c != nil {
		leg, dialog, ctx, callID = &c.reinviteState, c.session, c.ctx, c.CallID
	} else {
		s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
		return
	}
	if err := dialog.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	answer, err := leg.answer(ctx, req)
	if err != nil || len(answer) == 0 {
		s.log.Info("re-INVITE not accepted", "callId", callID, "error", err)
		res := sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		if err := tx.Respond(res); err != nil {
			s.log.Debug("488 to re-INVITE", "error", err)
		}
		return
	}
	res := sip.NewSDPResponseFromRequest(req, answer)
	contact := s.contactFor(req.Transport())
	res.AppendHeader(&contact)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("200 to re-INVITE", "error", err)
	}
}

// reinviteState is the re-INVITE handling shared by both kinds of leg: the
// engine's hook and the SDP we last sent.
type reinviteState struct {
	hook     atomic.Pointer[ReinviteFunc]
	sdpMu    sync.Mutex
	localSDP []byte
}

// OnReinvite sets the function answering re-INVITEs from the peer. Without
// one, a re-INVITE is answered with the SDP we last sent (a session refresh).
func (r *reinviteState) OnReinvite(f ReinviteFunc) { r.hook.Store(&f) }

func (r *reinviteState) setLocalSDP(sdp []byte) {
	r.sdpMu.Lock()
	r.localSDP = sdp
	r.sdpMu.Unlock()
}

func (r *reinviteState) answer(ctx context.Context, req *sip.Request) ([]byte, error) {
	if f := r.hook.Load(); f != nil && *f != nil {
		clean, _ := stripXHeaders(req)
		answer, err := (*f)(ctx, clean)
		if err == nil {
			r.setLocalSDP(answer)
		}
		return answer, err
	}
	r.sdpMu.Lock()
	defer r.sdpMu.Unlock()
	return r.localSDP, nil
}
