package calls

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// Invite is what the engine reads of an INVITE the front door accepted.
type Invite struct {
	callflow.Invite // the request (SDP offer, headers), X-* headers, source
	// ApplicationID is the application the Request-URI named, or the one the
	// phone number it named routes to.
	ApplicationID string
	CallID        string // SIP Call-ID
	// Number is the route of the phone number the Request-URI named (a call
	// from a trunk); nil for a call to an application's SIP URI.
	Number *sip.NumberRoute
}

var _ sip.Handler = (*Engine)(nil)

// HandleInvite runs an accepted inbound call to its end.
func (e *Engine) HandleInvite(ctx context.Context, in *sip.InboundCall) {
	inv := Invite{
		Invite:        callflow.Invite{Request: in.Request, XHeaders: in.XHeaders, Source: in.Source},
		ApplicationID: in.Application.ID, CallID: in.CallID, Number: in.Number,
	}
	e.handleInbound(ctx, in, inv)
}

// handleInbound runs the call that leg (the SIP side of inv) starts; ctx
// ends with the leg. The call's goroutine rests in runInbound for the whole
// call: the set-up (with its large frame) returns first, so the stack the
// call keeps stays small (8 KiB instead of 16 with 500 calls up).
func (e *Engine) handleInbound(ctx context.Context, leg InboundLeg, inv Invite) {
	c := e.startInbound(ctx, leg, &inv)
	if c == nil {
		return
	}
	defer e.remove(c)
	c.runInbound(ctx)
}

// startInbound makes the call and takes its slots, or refuses the INVITE
// (nil).
//
//go:noinline
func (e *Engine) startInbound(ctx context.Context, leg InboundLeg, inv *Invite) *Call {
	app, err := e.store.ApplicationByID(ctx, inv.ApplicationID)
	if err != nil {
		e.log.Error("inbound call: application vanished", "applicationId", inv.ApplicationID, "error", err)
		leg.Reject(480, "Temporarily Unavailable")
		return nil
	}
	c := newCall(e, app, "inbound")
	c.sipIn = leg
	c.invite = *inv
	c.info.From = sipdest.UserPart(inv.Request.From().Address.String())
	c.info.To = inv.Request.Recipient.String()
	c.sipCallID = inv.CallID
	c.applyTrunkInbound(ctx)
	if !c.sipInboundHook(ctx) {
		return nil
	}
	if err := e.admit(c, inv.Source.Addr().Unmap()); err != nil {
		c.log.Warn("call refused", "error", err)
		c.publishRefusal(503, "capacity", inv, err.Error())
		leg.Reject(503, "Service Unavailable", capacityHeaders()...)
		return nil
	}
	if !e.add(c) {
		e.mu.Lock()
		e.releaseLocked(c)
		e.mu.Unlock()
		leg.Reject(503, "Service Unavailable")
		return nil
	}
	e.journal(c)
	return c
}

// applyTrunkInbound prepares a call from a trunk to an attached number: its
// "to" is the number, and the configuration's inbound header mappings turn
// the INVITE's headers (the X-* ones the front door stripped included) into
// call variables, before the sip.inbound hook (which may refine them) and
// the first callback. A call to an application's SIP URI is untouched.
func (c *Call) applyTrunkInbound(ctx context.Context) {
	n := c.invite.Number
	if n == nil || c.e.trunks == nil {
		return
	}
	c.info.To = n.Number
	c.sipRoute = store.CallSIPRoute{PhoneNumber: n.Number, ConfigurationID: n.ID, TrunkID: n.TrunkID}
	in, err := c.e.trunks.Inbound(ctx, n, c.inviteHeaders())
	vars := in.Variables
	c.answerCodecs = in.Codecs
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.logf(slog.LevelWarn, "sip", "trunk call to %s: configuration %s vanished; no header mappings applied", n.Number, n.ID)
	case err != nil:
		c.logf(slog.LevelWarn, "sip", "trunk call to %s: header mappings not applied: %v", n.Number, err)
	default:
		c.setVars(vars)
		c.logf(slog.LevelInfo, "sip", "call from trunk to %s (configuration %s): %d variables mapped from headers", n.Number, n.ID, len(vars))
	}
}

// inviteHeaders are every header of the INVITE by name, including the X-*
// headers the front door removed from the request.
func (c *Call) inviteHeaders() map[string][]string {
	hs := map[string][]string{}
	for _, h := range c.invite.Request.Headers() {
		hs[h.Name()] = append(hs[h.Name()], h.Value())
	}
	for _, h := range c.invite.XHeaders {
		hs[h.Name] = append(hs[h.Name], h.Value)
	}
	return hs
}

// sipInboundHook lets the application's sip.inbound hook look at the INVITE
// before the call starts. It returns false when the hook rejected the call
// (the INVITE is answered).
func (c *Call) sipInboundHook(ctx context.Context) bool {
	if c.e.hooks == nil {
		return true
	}
	d := c.e.hooks.SIPInbound(ctx, c, c.invite.Invite)
	if d.Status != 0 {
		c.sipIn.Reject(d.Status, d.Reason)
		return false
	}
	if d.Application != nil { // the call is not live yet: nobody else reads app
		c.app = *d.Application
		c.info.ApplicationID = d.Application.ID
	}
	if d.Request != nil {
		c.invite.Request = d.Request
	}
	return true
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
	c.watch(in)
	leg, err := c.sess.NewLeg("caller")
	if err != nil {
		c.logf(slog.LevelError, "media", "no media leg: %v", err)
		in.Reject(503, "Service Unavailable")
		c.end(bxml.CauseNodeCapacityExceeded, err.Error())
		return
	}
	c.leg = leg
	answer, err := leg.Answer(c.invite.Request.Body(), media.AnswerOptions{Codecs: c.answerCodecs})
	if errors.Is(err, media.ErrNoCommonCodec) && c.answerCodecs != nil {
		// As with the trunk's outbound offers: an INVITE whose only codecs
		// the settings disable is answered as without them, since refusing
		// the call is not what the trunk's owner meant.
		c.logf(slog.LevelWarn, "media", "the trunk offered only codecs its settings leave out; answering with the server's: %v", err)
		answer, err = leg.Answer(c.invite.Request.Body(), media.AnswerOptions{})
	}
	if err != nil {
		c.logf(slog.LevelWarn, "media", "offer refused: %v", err)
		in.Reject(488, "Not Acceptable Here")
		c.end(bxml.CauseRejected, err.Error())
		return
	}
	c.localSDP = answer
	leg.AllowSource(c.invite.Source.Addr())
	c.startDTMF()
	ev := &bxml.InitiateEvent{}
	if h := c.invite.Request.GetHeader("User-to-User"); h != nil {
		ev.UUI = h.Value()
	}
	doc, err := c.fetch(c.initiateTarget(), ev)
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
