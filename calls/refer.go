package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// A REFER from the far end of a transfer leg (the party a <Transfer>
// reached, typically a PBX or an agent's phone) moves the call it is
// bridged with, the transferee, away from it:
//
//   - blind: the server dials the Refer-To target as <Transfer> would, and
//     once it answers bridges the transferee to it and hangs up the referrer;
//   - attended (Refer-To with Replaces): the replaced dialog is another
//     transfer leg of the same account; the two remote parties are bridged
//     together and both of the referrer's legs end.
//
// The transferee's <Transfer> verb then goes on with the new party and
// completes (transferComplete) when that bridge ends. The referrer hears
// of the progress by NOTIFY, the application by referComplete.

// ReferLeg is a SIP leg that takes and sends REFERs: *sip.InboundCall and
// the legs SIPDialer places.
type ReferLeg interface {
	OnRefer(f sip.ReferFunc)
	Refer(ctx context.Context, target string, headers []sip.Header) (*sip.ReferProgress, error)
	DialogTags() (local, remote string)
}

var _ ReferLeg = (*sip.InboundCall)(nil)

// referDialTimeout bounds the dial of a blind transfer's target.
const referDialTimeout = 30 * time.Second

// handover is the party a REFER bridged a transferee with: the transfer's
// <Transfer> waits on done before it completes.
type handover struct {
	peer *Call         // the new party
	done chan struct{} // closed when the bridge with peer ended
	// owned: peer is a leg this transfer placed (ended with it); else peer
	// is another call that goes on by itself.
	owned bool
}

// referLeg returns b's SIP leg as a ReferLeg, or nil.
func (b *Call) referLeg() ReferLeg {
	var l any = b.sipOut
	if b.sipIn != nil {
		l = b.sipIn
	}
	rl, _ := l.(ReferLeg)
	return rl
}

// listenRefer lets the peer of the transfer leg b transfer c, the call b is
// bridged with, by REFER.
func (c *Call) listenRefer(b *Call) {
	if rl := b.referLeg(); rl != nil {
		// Under b.mu: whoever finds b bridged (replacedLeg) also sees its
		// context and c's, set before in this goroutine's past.
		b.mu.Lock()
		b.bridgedWith = c
		b.mu.Unlock()
		rl.OnRefer(func(ctx context.Context, r *sip.Refer) { c.onRefer(ctx, b, r) })
	}
}

// onRefer decides on the REFER the peer of b sent (on the SIP request's
// goroutine) and starts carrying it out.
func (c *Call) onRefer(ctx context.Context, b *Call, r *sip.Refer) {
	ev := &bxml.ReferCompleteEvent{ReferDirection: "received", ReferTo: r.Target, ReferredBy: r.ReferredBy, TransfereeCallID: c.id}
	if c.ctx.Err() != nil || b.ctx.Err() != nil {
		r.Reject(481, "Call/Transaction Does Not Exist")
		return
	}
	// One REFER at a time per transferee: a referrer sending REFER after
	// REFER must not make the server dial many targets at once. Every path
	// from here ends it with endRefer.
	if !c.tryBeginRefer() {
		r.Reject(491, "Request Pending")
		return
	}
	var target string
	var headers []sip.Header
	var status int
	var why string
	if r.Replaces != nil {
		ev.ReplacesCallID = r.Replaces.CallID
		if d := c.referHook(ctx, b, r); d.Status != 0 {
			status, why = d.Status, "refused by the application's sip.refer hook"
		}
	} else {
		target, headers, status, why = c.referTarget(ctx, b, r)
	}
	if status != 0 {
		b.logf(slog.LevelInfo, "refer", "REFER to %s refused (%d): %s", r.Target, status, why)
		r.Reject(status, reasonFor(status))
		ev.SipStatus, ev.Cause, ev.ErrorMessage = status, bxml.CauseRejected, why
		b.notify(b.statusTarget(), ev)
		c.endRefer(nil)
		return
	}
	if r.Replaces != nil {
		c.attendedRefer(ctx, b, r, ev)
		return
	}
	ev.ReferTo = target
	if err := r.Accept(ctx); err != nil {
		b.logf(slog.LevelWarn, "refer", "%v", err)
	}
	b.logf(slog.LevelInfo, "refer", "blind transfer of %s to %s", c.id, target)
	c.e.wg.Add(1)
	go func() {
		defer c.e.wg.Done()
		c.blindRefer(b, r, target, headers, ev)
	}()
}

// blindRefer dials target for the transferee c, then moves c over to it
// and hangs up the referrer's leg b.
func (c *Call) blindRefer(b *Call, r *sip.Refer, target string, headers []sip.Header, ev *bxml.ReferCompleteEvent) {
	var h *handover
	defer func() { c.endRefer(h) }()
	dctx, cancel := context.WithTimeout(c.ctx, referDialTimeout)
	nb, err := c.dialLeg(dctx, "refer", target, c.fromURI(""), "", legOptions{headers: headers})
	cancel()
	nctx, ncancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ncancel()
	if err != nil {
		status, reason := referFailure(err)
		b.logf(slog.LevelInfo, "refer", "transfer target %s failed: %v", target, err)
		if nerr := r.Notify(nctx, status, reason); nerr != nil {
			b.logf(slog.LevelInfo, "refer", "%v", nerr)
		}
		ev.SipStatus, ev.Cause, ev.ErrorMessage = status, dialCause(err), err.Error()
		b.notify(b.statusTarget(), ev)
		return
	}
	nb.info.ParentCallID = c.id
	nb.info.TransferTo = target
	if h, err = c.adoptLeg(nb); err != nil {
		b.logf(slog.LevelWarn, "refer", "bridge to %s: %v", target, err)
		r.Notify(nctx, 500, "Server Internal Error")
		ev.SipStatus, ev.Cause, ev.ErrorMessage = 500, bxml.CauseError, err.Error()
		b.notify(b.statusTarget(), ev)
		return
	}
	if err := r.Notify(nctx, 200, "OK"); err != nil {
		b.logf(slog.LevelInfo, "refer", "%v", err)
	}
	ev.SipStatus, ev.Cause, ev.TransferCallID = 200, bxml.CauseHangup, nb.id
	b.notify(b.statusTarget(), ev)
	c.logf(slog.LevelInfo, "refer", "transferred by REFER from %s to %s (%s)", b.id, nb.id, target)
	b.end(bxml.CauseHangup, "transferred by REFER")
}

// adoptLeg makes nb, a leg dialled in c's media session, the party c is
// bridged with, and runs it until either side hangs up.
func (c *Call) adoptLeg(nb *Call) (*handover, error) {
	if !c.e.add(nb) {
		nb.hangupUnregistered()
		return nil, errors.New("server shutting down")
	}
	c.e.journal(nb)
	nb.ctx, nb.cancel = context.WithCancel(c.ctx)
	h := &handover{peer: nb, done: make(chan struct{}), owned: true}
	err := c.sess.Bridge(c.leg, nb.leg)
	go func() {
		defer close(h.done)
		defer c.e.remove(nb)
		defer nb.finishLeg(bxml.Target{})
		defer c.onIdle(nb.leg, nb.mediaTimedOut)()
		if err != nil {
			nb.end(bxml.CauseError, err.Error())
			return
		}
		c.listenRefer(nb)
		select {
		case <-nb.sipOut.Done():
			nb.end(causeFor(nb.sipOut.EndReason()), "")
		case <-nb.ctx.Done():
		}
		c.sess.Unbridge(nb.leg)
	}()
	if err != nil {
		<-h.done
		return nil, err
	}
	return h, nil
}

// attendedRefer joins c with the other party of the dialog the REFER's
// Replaces names, which must be another transfer leg of c's account, and
// ends both of the referrer's legs. c's REFER is under way (tryBeginRefer).
func (c *Call) attendedRefer(ctx context.Context, b *Call, r *sip.Refer, ev *bxml.ReferCompleteEvent) {
	b2, other := c.e.replacedLegWait(ctx, c.app.AccountID, r.Replaces)
	if b2 == nil || other == nil || other == c || b2 == b {
		b.logf(slog.LevelInfo, "refer", "attended transfer refused: Replaces names no transfer leg of this account")
		r.Reject(403, "Forbidden")
		ev.SipStatus, ev.Cause, ev.ErrorMessage = 403, bxml.CauseRejected, "Replaces names no call of this account"
		b.notify(b.statusTarget(), ev)
		c.endRefer(nil)
		return
	}
	other.beginRefer()
	var hc, ho *handover // stay nil when the transfer fails
	defer func() {
		c.endRefer(hc)
		other.endRefer(ho)
	}()
	if err := r.Accept(ctx); err != nil {
		b.logf(slog.LevelWarn, "refer", "%v", err)
	}
	if err := media.Bridge(c.leg, other.leg); err != nil {
		b.logf(slog.LevelWarn, "refer", "attended transfer: bridge %s with %s: %v", c.id, other.id, err)
		r.Notify(ctx, 488, "Not Acceptable Here")
		ev.SipStatus, ev.Cause, ev.ErrorMessage = 488, bxml.CauseError, err.Error()
		b.notify(b.statusTarget(), ev)
		return
	}
	hc = &handover{peer: other, done: make(chan struct{})}
	ho = &handover{peer: c, done: make(chan struct{})}
	// Each side's <Transfer> now waits for the other call to end.
	c.e.wg.Add(2)
	go func() { defer c.e.wg.Done(); defer close(hc.done); waitEither(c.ctx, other.ctx) }()
	go func() { defer c.e.wg.Done(); defer close(ho.done); waitEither(other.ctx, c.ctx) }()
	if nerr := r.Notify(ctx, 200, "OK"); nerr != nil {
		b.logf(slog.LevelInfo, "refer", "%v", nerr)
	}
	ev.SipStatus, ev.Cause, ev.TransferCallID = 200, bxml.CauseHangup, other.id
	b.notify(b.statusTarget(), ev)
	c.logf(slog.LevelInfo, "refer", "attended transfer: bridged with %s; legs %s and %s end", other.id, b.id, b2.id)
	b.end(bxml.CauseHangup, "transferred by REFER")
	b2.end(bxml.CauseHangup, "replaced by REFER")
}

func waitEither(a, b context.Context) {
	select {
	case <-a.Done():
	case <-b.Done():
	}
}

// replacesGrace is how long a REFER's Replaces may wait for the leg it
// names to be bridged: an agent may REFER the moment its consultation call
// is answered, a moment before the server has taken that call's 200 (the
// leg is not even known then) and bridged it.
const replacesGrace = 2 * time.Second

// replacedLegWait finds the live, bridged transfer leg of the account whose
// SIP dialog rep names, and the call it is bridged with, waiting up to
// replacesGrace for it. A Replaces that names no such leg is refused only
// after the grace.
func (e *Engine) replacedLegWait(ctx context.Context, accountID string, rep *sip.Replaces) (leg, parent *Call) {
	deadline := time.Now().Add(replacesGrace)
	for {
		if leg, parent := e.replacedLeg(accountID, rep); leg != nil || time.Now().After(deadline) {
			return leg, parent
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// replacedLeg finds the bridged transfer leg of the account that Replaces
// names, and the call it is bridged with.
func (e *Engine) replacedLeg(accountID string, rep *sip.Replaces) (leg, parent *Call) {
	var candidates []*Call
	e.mu.Lock()
	for _, c := range e.calls {
		if c.app.AccountID == accountID && c.sipCallID == rep.CallID {
			candidates = append(candidates, c)
		}
	}
	e.mu.Unlock()
	for _, c := range candidates {
		c.mu.Lock()
		with := c.bridgedWith
		c.mu.Unlock()
		if with == nil {
			continue
		}
		if rl := c.referLeg(); rl != nil {
			if local, remote := rl.DialogTags(); rep.Matches(c.sipCallID, local, remote) {
				return c, with
			}
		}
	}
	return nil, nil
}

// beginRefer marks a REFER under way for c: its <Transfer> waits for the
// outcome before it completes.
func (c *Call) beginRefer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.beginReferLocked()
}

// tryBeginRefer is beginRefer unless a REFER for c is under way already.
func (c *Call) tryBeginRefer() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.referPending > 0 {
		return false
	}
	c.beginReferLocked()
	return true
}

func (c *Call) beginReferLocked() {
	c.referPending++
	if c.referChanged == nil {
		c.referChanged = make(chan struct{})
	}
}

// endRefer records a REFER's outcome: h, the party c is now bridged with,
// or nil when the transfer failed.
func (c *Call) endRefer(h *handover) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.referPending--
	if h != nil {
		c.handover = h
	}
	close(c.referChanged)
	c.referChanged = make(chan struct{})
}

// nextHandover returns the party a REFER bridged c with after prev, waiting
// while a REFER is under way; nil when there is none.
func (c *Call) nextHandover(ctx context.Context, prev *handover) *handover {
	for {
		c.mu.Lock()
		h, pending, changed := c.handover, c.referPending, c.referChanged
		c.mu.Unlock()
		if h != nil && h != prev {
			return h
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// referTarget applies the application's rules to a blind REFER: its
// sip.refer hook may allow (and rewrite) or refuse it; without a decision,
// a phone number the account routes and a SIP URI on the referrer's own
// host are allowed, anything else is refused, so a REFER never makes the
// server an open relay. status is 0 when allowed.
func (c *Call) referTarget(ctx context.Context, b *Call, r *sip.Refer) (target string, headers []sip.Header, status int, why string) {
	target = r.Target
	switch d := c.referHook(ctx, b, r); {
	case d.Status != 0:
		return "", nil, d.Status, "refused by the application's sip.refer hook"
	case d.Allow:
		if d.Target != "" {
			target = d.Target
		}
		if !sipdest.IsSIPURI(target) && !sipdest.IsE164(target) {
			return "", nil, 403, fmt.Sprintf("the sip.refer hook's target %q is neither a SIP URI nor an E.164 number", target)
		}
		return target, d.Headers, 0, ""
	}
	if n := referNumber(target, c.e.sipDomain); n != "" {
		if c.e.trunks == nil {
			return "", nil, 403, "no outbound route for " + n
		}
		if _, err := c.route(ctx, n, c.fromURI("")); errors.Is(err, ErrCallerIDRefused) {
			return "", nil, 403, err.Error()
		} else if err != nil {
			return "", nil, 403, fmt.Sprintf("no outbound route for %s: %v", n, err)
		}
		return n, nil, 0, ""
	}
	if !sipdest.IsSIPURI(target) {
		return "", nil, 403, "target is not a SIP URI"
	}
	d, err := sipdest.Parse(target)
	if err != nil {
		return "", nil, 400, err.Error()
	}
	if peer := referrerHost(b); peer == "" || !strings.EqualFold(d.Host, peer) {
		return "", nil, 403, fmt.Sprintf("%s is not on the referrer's host and the application did not allow it", d.Host)
	}
	return target, nil, 0, ""
}

// referHook asks the application's sip.refer hook about r (the zero
// decision without hooks).
func (c *Call) referHook(ctx context.Context, b *Call, r *sip.Refer) callflow.ReferDecision {
	if c.e.hooks == nil {
		return callflow.ReferDecision{}
	}
	return c.e.hooks.SIPRefer(ctx, b, callflow.ReferRequest{Refer: r, TransfereeCallID: c.id})
}

// referNumber returns the E.164 number a Refer-To names (tel:+1555...,
// or sip:+1555...@<our domain>), or "".
func referNumber(target, domain string) string {
	if n, ok := strings.CutPrefix(target, "tel:"); ok {
		n, _, _ = strings.Cut(n, ";")
		if sipdest.IsE164(n) {
			return n
		}
		return ""
	}
	d, err := sipdest.Parse(target)
	if err != nil || !sipdest.IsE164(d.User) || !strings.EqualFold(d.Host, domain) {
		return ""
	}
	return d.User
}

// referrerHost is the host the transfer leg b was dialled on.
func referrerHost(b *Call) string {
	b.mu.Lock()
	to := b.info.To
	b.mu.Unlock()
	d, err := sipdest.Parse(to)
	if err != nil {
		return ""
	}
	return d.Host
}

// referFailure is the sipfrag status a failed transfer dial reports.
func referFailure(err error) (int, string) {
	var de *sip.DialError
	switch {
	case errors.As(err, &de):
		return de.Status, de.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return 408, "Request Timeout"
	case errors.Is(err, context.Canceled):
		return 487, "Request Terminated"
	case errors.Is(err, ErrNoRoute):
		return 404, "Not Found"
	case errors.Is(err, ErrCallerIDRefused):
		return 403, "Forbidden"
	}
	return 503, "Service Unavailable"
}

func reasonFor(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 488:
		return "Not Acceptable Here"
	case 603:
		return "Decline"
	}
	return "Refused"
}

// statusTarget is where a call's notifications without a verb of their own
// go: the application's status callback.
func (c *Call) statusTarget() bxml.Target {
	if c.disconnectURL != "" {
		return bxml.Target{URL: c.disconnectURL, Method: c.disconnectMethod, Username: c.cbUser, Password: c.cbPass}
	}
	return bxml.Target{
		URL: c.app.CallStatusCallbackURL, Method: c.app.CallStatusCallbackMethod,
		Username: c.app.CallbackUsername, Password: c.app.CallbackPassword,
	}
}

// referSentTimeout bounds how long a <Refer> waits for the peer's outcome.
const referSentTimeout = 60 * time.Second

var _ bxml.Referrer = (*Call)(nil)

// Refer sends a REFER in the call's own dialog (<Refer>): the peer is asked
// to transfer itself to the SipUri, with the SipHeader children and the
// SipUri's uui as headers. When the peer reports success (a 2xx sipfrag)
// the call hangs up; a refusal, a failed transfer or no outcome in time
// leaves the call up for referComplete's BXML.
func (c *Call) Refer(ctx context.Context, r *bxml.Refer) (bxml.ReferResult, error) {
	leg := c.referLeg()
	target := r.Target()
	if leg == nil || target == nil {
		return bxml.ReferResult{SipStatus: 501, Cause: bxml.CauseError, ErrorMessage: "this call's SIP leg cannot send REFER"}, nil
	}
	headers := uuiHeaders(target.UUI)
	for _, h := range r.Headers() {
		headers = append(headers, sip.Header{Name: h.Name, Value: h.Value})
	}
	wctx, cancel := context.WithTimeout(ctx, referSentTimeout)
	defer cancel()
	progress, err := leg.Refer(wctx, target.URI, headers)
	if err != nil {
		status, reason := referFailure(err)
		c.logf(slog.LevelInfo, "refer", "REFER to %s not accepted: %v", target.URI, err)
		return bxml.ReferResult{SipStatus: status, Cause: dialCause(err), ErrorMessage: fmt.Sprintf("%d %s", status, reason)}, nil
	}
	c.logf(slog.LevelInfo, "refer", "REFER to %s accepted by the peer", target.URI)
	status, reason, err := progress.Wait(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return bxml.ReferResult{}, ctx.Err()
		}
		return bxml.ReferResult{SipStatus: 408, Cause: bxml.CauseTimeout, ErrorMessage: "no final NOTIFY from the peer in time"}, nil
	}
	if status < 200 || status >= 300 {
		c.logf(slog.LevelInfo, "refer", "the peer's transfer to %s failed: %d %s", target.URI, status, reason)
		return bxml.ReferResult{SipStatus: status, Cause: referCause(status), ErrorMessage: fmt.Sprintf("%d %s", status, reason)}, nil
	}
	c.logf(slog.LevelInfo, "refer", "the peer transferred itself to %s; hanging up", target.URI)
	c.notify(r.ReferCompleteTarget(), &bxml.ReferCompleteEvent{ReferDirection: "sent", ReferTo: target.URI, SipStatus: status, Cause: bxml.CauseHangup})
	return bxml.ReferResult{Transferred: true, SipStatus: status, Cause: bxml.CauseHangup}, nil
}

// referCause is the cause a failed transfer's sipfrag status maps to.
func referCause(status int) string {
	return dialCause(&sip.DialError{Status: status})
}
