package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// route returns how to dial addr for this call: a sip:/sips: URI as given
// (SRTP for sips:), a phone number through the account's trunks.
func (c *Call) route(ctx context.Context, addr, from string) (DialTarget, error) {
	if sipdest.IsSIPURI(addr) {
		return DialTarget{URI: addr, SRTP: strings.HasPrefix(addr, "sips:")}, nil
	}
	if c.e.trunks == nil || !sipdest.IsE164(addr) {
		return DialTarget{}, fmt.Errorf("%w for %s", ErrNoRoute, addr)
	}
	if err := c.checkCallerID(ctx, from); err != nil {
		return DialTarget{}, err
	}
	return c.e.trunks.Route(ctx, RouteRequest{AccountID: c.app.AccountID, Number: addr, From: from, Variables: c.Variables()})
}

// checkCallerID refuses a leg out through a trunk whose caller ID is an
// E.164 number the account has not verified, as createCall does: without
// it, <Transfer transferCallerId>, <Forward from> or an outbound call to a
// SIP URI whose BXML transfers to a number would present any number to a
// carrier. An inbound call's own caller passes along unchecked, as
// Bandwidth's default transferCallerId does: that number is the remote
// party's, not one the account claims. A system call (a verification or
// test call) rings a number from itself and is not checked.
func (c *Call) checkCallerID(ctx context.Context, from string) error {
	if c.e.callerIDs == nil || c.system {
		return nil
	}
	n := sipdest.UserPart(from)
	info := c.snapshotInfo()
	if info.Direction == "inbound" && n == info.From {
		return nil
	}
	return c.e.callerIDs.CheckCallerID(ctx, c.app.AccountID, n)
}

// dialResult is one transfer target's outcome.
type dialResult struct {
	b     *Call
	err   error
	cause string
}

// legOptions are what an outbound leg's INVITE carries besides its caller:
// headers of the request (User-to-User) and whether the caller is hidden.
type legOptions struct {
	headers []sip.Header
	privacy bool
}

// uuiHeaders is the User-to-User header carrying uui, if any.
func uuiHeaders(uui string) []sip.Header {
	if uui == "" {
		return nil
	}
	return []sip.Header{{Name: "User-to-User", Value: uui}}
}

// dialLeg places an outbound leg in c's media session toward uri; the new
// Call is registered (live) once answered.
func (c *Call) dialLeg(ctx context.Context, name, uri, from, displayName string, opt legOptions) (*Call, error) {
	tgt, err := c.route(ctx, uri, from)
	if err != nil {
		return nil, err
	}
	tgt.Headers = append(tgt.Headers, opt.headers...)
	if c.e.hooks != nil {
		if tgt.Headers, err = c.e.hooks.SIPOutbound(ctx, c, tgt.URI, from, tgt.Headers); err != nil {
			return nil, err
		}
	}
	leg, err := c.sess.NewLeg(name)
	if err != nil {
		return nil, fmt.Errorf("media leg: %w", err)
	}
	offer, err := leg.Offer(media.OfferOptions{Peer: c.leg, SRTP: tgt.SRTP, NoTranscode: tgt.NoTranscode})
	if err != nil {
		leg.Close()
		return nil, fmt.Errorf("offer: %w", err)
	}
	if tgt.Offer != nil {
		offer = tgt.Offer(offer)
	}
	out, tgt, err := c.dialAttempts(ctx, tgt, sip.DialRequest{From: from, DisplayName: displayName, SDP: offer,
		Headers: tgt.Headers, Privacy: opt.privacy})
	if err != nil {
		leg.Close()
		return nil, &legError{route: tgt.Route, err: err}
	}
	leg.AllowSource(out.Source().Addr())
	if err := leg.SetAnswer(out.AnswerSDP()); err != nil {
		leg.Close()
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out.Hangup(hctx)
		cancel()
		return nil, fmt.Errorf("callee's answer: %w", err)
	}
	b := newCall(c.e, c.app, "outbound")
	b.sipOut, b.leg, b.sess = out, leg, c.sess
	c.mu.Lock()
	b.base = c.base // the transfer's relative callback URLs resolve against the A-leg's document
	c.mu.Unlock()
	b.sipCallID = out.CallID()
	b.sipRoute = tgt.Route
	b.sipRoute.Status, b.sipRoute.Reason = 200, "OK"
	b.info.From, b.info.To = sipdest.UserPart(from), uri
	b.markAnswered()
	return b, nil
}

// legError is a leg's failed INVITE, with the route it was sent on.
type legError struct {
	route store.CallSIPRoute
	err   error
}

func (e *legError) Error() string { return e.err.Error() }
func (e *legError) Unwrap() error { return e.err }

func dialCause(err error) string {
	var de *sip.DialError
	switch {
	case errors.As(err, &de) && (de.Status == 486 || de.Status == 600):
		return bxml.CauseBusy
	case errors.As(err, &de) && (de.Status == 603 || de.Status == 403):
		return bxml.CauseRejected
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &de) && (de.Status == 408 || de.Status == 480 || de.Status == 487):
		return bxml.CauseTimeout
	case errors.Is(err, context.Canceled):
		return bxml.CauseCancel
	}
	return bxml.CauseError
}

func (c *Call) fromURI(callerID string) string {
	if callerID == "" {
		callerID = c.snapshotInfo().From
	}
	if strings.HasPrefix(callerID, "sip:") || strings.HasPrefix(callerID, "sips:") {
		return callerID
	}
	return "sip:" + callerID + "@" + c.e.sipDomain
}

// Transfer dials every target at once; the first to answer runs its
// transferAnswer BXML, is bridged to this call, and Transfer returns when
// that bridge ends (or when no target answered).
func (c *Call) Transfer(ctx context.Context, t *bxml.Transfer) (bxml.TransferResult, error) {
	from := c.fromURI(t.TransferCallerID)
	dctx, cancelAll := context.WithTimeout(ctx, time.Duration(t.CallTimeout*float64(time.Second)))
	defer cancelAll()
	results := make(chan dialResult, len(t.Targets))
	targets := make(map[*Call]bxml.TransferTarget)
	for i, tg := range t.Targets {
		go func() {
			opt := legOptions{privacy: t.Privacy}
			if o := tg.Options(); o != nil {
				opt.headers = uuiHeaders(o.UUI)
			}
			b, err := c.dialLeg(dctx, fmt.Sprintf("transfer-%d", i), tg.Address(), from, t.TransferCallerDisplayName, opt)
			if b != nil {
				b.info.ParentCallID = c.id
				b.info.TransferCallerID, b.info.TransferTo = sipdest.UserPart(from), tg.Address()
				// The target's tag is the B-leg's: its transferAnswer and
				// transferDisconnect carry it, as Bandwidth's do.
				if o := tg.Options(); o != nil && o.Tag != nil {
					b.info.Tag = *o.Tag
				}
				c.mu.Lock()
				targets[b] = tg
				c.mu.Unlock()
			}
			results <- dialResult{b: b, err: err, cause: dialCause(err)}
		}()
	}
	var winner *Call
	last := dialResult{cause: bxml.CauseTimeout}
	for range t.Targets {
		r := <-results
		switch {
		case r.err != nil:
			c.logf(slog.LevelInfo, "transfer", "target failed: %v", r.err)
			last = r
		case winner == nil:
			winner = r.b
			cancelAll() // CANCEL the targets still ringing
		default:
			r.b.hangupUnregistered() // answered too late
		}
	}
	if winner == nil {
		return bxml.TransferResult{Cause: last.cause, ErrorMessage: errText(last.err), TransferCallerID: sipdest.UserPart(from)}, nil
	}
	c.mu.Lock()
	tg := targets[winner]
	c.mu.Unlock()
	return c.runTransferLeg(ctx, winner, tg.Options(), from)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hangupUnregistered ends a leg that never became a live call.
func (b *Call) hangupUnregistered() {
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.sipOut.Hangup(hctx)
	b.leg.Close()
}

// runTransferLeg runs the callee's transferAnswer program, bridges it to c
// and waits for either side to hang up.
func (c *Call) runTransferLeg(ctx context.Context, b *Call, opts *bxml.TargetOptions, from string) (bxml.TransferResult, error) {
	res := bxml.TransferResult{TransferCallerID: sipdest.UserPart(from), TransferTo: b.info.To}
	if !c.e.add(b) {
		b.hangupUnregistered()
		return res, errors.New("transfer: server shutting down")
	}
	c.e.journal(b)
	b.ctx, b.cancel = context.WithCancel(ctx)
	bDone := make(chan struct{})
	go func() {
		defer close(bDone)
		defer c.e.remove(b)
		defer b.finishLeg(opts.TransferDisconnectTarget())
		defer c.onIdle(b.leg, b.mediaTimedOut)()
		go func() {
			select {
			case <-b.sipOut.Done():
				b.end(causeFor(b.sipOut.EndReason()), "")
			case <-b.ctx.Done():
			}
		}()
		b.startDTMF()
		doc, err := b.fetch(opts.TransferAnswerTarget(), &bxml.TransferAnswerEvent{})
		if err != nil {
			b.endWithError(err)
			return
		}
		if doc != nil {
			out, err := bxml.Run(b.ctx, doc, b)
			if err != nil {
				if b.ctx.Err() == nil {
					b.endWithError(err)
				}
				return
			}
			if out.Kind != bxml.OutcomeEnd {
				b.end(bxml.CauseHangup, "") // the callee's program hung up
				return
			}
		}
		if err := c.sess.Bridge(c.leg, b.leg); err != nil {
			b.end(bxml.CauseError, err.Error())
			return
		}
		c.logf(slog.LevelInfo, "transfer", "bridged to %s (%s)", b.id, b.info.To)
		// Only a bridged leg may transfer c by REFER: during transferAnswer
		// BXML the bridge is still to come.
		c.listenRefer(b)
		<-b.ctx.Done()
		// b's leg, not c's: a REFER may have bridged c with another party.
		c.sess.Unbridge(b.leg)
	}()
	select {
	case <-bDone:
	case <-ctx.Done():
		b.end(bxml.CauseHangup, "")
		<-bDone
		return res, ctx.Err()
	}
	// A REFER from b's peer may have moved c to another party: the
	// transfer goes on with it until that bridge ends too. (last, not b:
	// b's goroutines still read b.)
	last := b
	var cur *handover
	for {
		h := c.nextHandover(ctx, cur)
		if h == nil {
			break
		}
		cur, last = h, h.peer
		res.TransferTo = last.snapshotInfo().To
		select {
		case <-h.done:
		case <-ctx.Done():
			if h.owned { // a leg of this transfer; another call goes on
				last.end(bxml.CauseHangup, "")
				<-h.done
			}
			return res, ctx.Err()
		}
	}
	if cur != nil {
		c.sess.Unbridge(c.leg)
	}
	rec := last.Snapshot()
	res.Cause, res.ErrorMessage = rec.DisconnectCause, rec.ErrorMessage
	return res, nil
}

// finishLeg ends a transfer leg: BYE if still up, transferDisconnect, and
// the leg's own call record.
func (b *Call) finishLeg(t bxml.Target) {
	b.end(bxml.CauseHangup, "")
	b.stopBackground()
	select {
	case <-b.sipOut.Done():
	default:
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.sipOut.Hangup(hctx)
		cancel()
	}
	b.leg.Close()
	b.mu.Lock()
	b.state = stateDisconnected
	b.info.EndTime = time.Now().UTC()
	b.mu.Unlock()
	rec := b.Snapshot()
	callsEnded.WithLabelValues(rec.Direction, rec.DisconnectCause).Inc()
	b.notify(t, &bxml.TransferDisconnectEvent{
		ParentCallID: rec.ParentCallID, EndTime: bxml.At(rec.EndTime), Cause: rec.DisconnectCause, ErrorMessage: rec.ErrorMessage,
	})
	b.persist(rec)
}

// Forward hands the call to another SIP endpoint: dial, bridge, and stay
// out of the way (no more BXML) until either side hangs up.
func (c *Call) Forward(ctx context.Context, f *bxml.Forward) error {
	dctx, cancel := context.WithTimeout(ctx, time.Duration(f.CallTimeout*float64(time.Second)))
	b, err := c.dialLeg(dctx, "forward", f.To, c.fromURI(f.From), "", legOptions{})
	cancel()
	if err != nil {
		c.logf(slog.LevelInfo, "forward", "forward to %s failed: %v", f.To, err)
		c.end(dialCause(err), err.Error())
		return nil
	}
	if err := c.Answer(ctx); err != nil {
		b.hangupUnregistered()
		return err
	}
	b.info.ParentCallID = c.id
	_, err = c.runTransferLeg(ctx, b, &bxml.TargetOptions{}, c.fromURI(f.From))
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
