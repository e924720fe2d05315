package calls

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// anonymousFrom are the caller IDs createCall takes besides numbers and URIs.
var anonymousFrom = map[string]bool{"Restricted": true, "Anonymous": true, "Private": true, "Unavailable": true}

// DefaultCallTimeout is how long an outbound call rings before it gives up.
const DefaultCallTimeout = 30 * time.Second

// CallRequest is an outbound call (the Voice API's createCall): whom to
// call, from which caller ID, and where this call's callbacks go. Empty
// methods are POST.
type CallRequest struct {
	ApplicationID string
	To            string // an E.164 number (routed through a trunk) or a sip:/sips: URI
	From          string // an E.164 number, a SIP URI, or Restricted, Anonymous, Private, Unavailable
	DisplayName   string
	Tag           *string
	// Privacy hides the caller ID (From anonymous, Privacy: id; the
	// number goes in P-Asserted-Identity for the trunk).
	Privacy bool
	// UUI is sent as the INVITE's User-to-User header (RFC 7433).
	UUI string

	AnswerURL, AnswerMethod                 string
	AnswerFallbackURL, AnswerFallbackMethod string
	Username, Password                      string // for the answer and disconnect URLs
	FallbackUsername, FallbackPassword      string
	DisconnectURL, DisconnectMethod         string

	CallTimeout     time.Duration // ringing; 0: DefaultCallTimeout
	CallbackTimeout time.Duration // per callback of the call; 0: the source's default

	MachineDetection *MachineDetection // nil: no answering machine detection
}

// CreateCall validates an outbound call and places it in the background;
// the answer callback drives it once the callee answers. Invalid requests
// are *store.ValidationError naming the createCall field.
func (e *Engine) CreateCall(ctx context.Context, accountID string, r CallRequest) (store.CallRecord, error) {
	app, err := e.store.Application(ctx, accountID, r.ApplicationID)
	if errors.Is(err, store.ErrNotFound) {
		return store.CallRecord{}, &store.ValidationError{Field: "applicationId", Value: r.ApplicationID, Reason: "no such application in this account"}
	}
	if err != nil {
		return store.CallRecord{}, err
	}
	switch {
	case sipdest.IsSIPURI(r.To):
	case sipdest.IsE164(r.To):
		if err := e.checkRoute(ctx, accountID, r.To, r.From); err != nil {
			return store.CallRecord{}, err
		}
	default:
		return store.CallRecord{}, &store.ValidationError{Field: "to", Value: r.To, Reason: "must be an E.164 number (+15555551212) or a sip:/sips: URI"}
	}
	if !sipdest.IsE164(r.From) && !anonymousFrom[r.From] && !sipdest.IsSIPURI(r.From) {
		return store.CallRecord{}, &store.ValidationError{Field: "from", Value: r.From, Reason: "must be an E.164 number, a SIP URI, or Restricted, Anonymous, Private, Unavailable"}
	}
	for _, u := range []struct{ field, v string }{{"answerUrl", r.AnswerURL}, {"answerFallbackUrl", r.AnswerFallbackURL}, {"disconnectUrl", r.DisconnectURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return store.CallRecord{}, &store.ValidationError{Field: u.field, Value: u.v, Reason: "must be an absolute http:// or https:// URL"}
		}
	}
	if err := r.MachineDetection.validate(); err != nil {
		return store.CallRecord{}, err
	}
	// A call to a phone number goes out through the number's trunk, where
	// the caller ID is presented to a carrier: it must be the account's. A
	// call to a SIP URI goes to that peer directly. A from that is a SIP URI
	// is checked by its user part, as the dialled leg will be.
	if e.callerIDs != nil && sipdest.IsE164(r.To) {
		err := e.callerIDs.CheckCallerID(ctx, accountID, sipdest.UserPart(r.From))
		if errors.Is(err, ErrCallerIDRefused) {
			return store.CallRecord{}, &store.ValidationError{Field: "from", Value: r.From, Reason: strings.TrimPrefix(err.Error(), ErrCallerIDRefused.Error()+": ")}
		}
		if err != nil {
			return store.CallRecord{}, err
		}
	}
	c := newCall(e, app, "outbound")
	c.info.From, c.info.To = r.From, r.To
	c.info.EnqueuedTime = c.info.StartTime
	if r.Tag != nil {
		c.info.Tag = *r.Tag
	}
	c.disconnectURL, c.disconnectMethod = r.DisconnectURL, orPOST(r.DisconnectMethod)
	c.cbUser, c.cbPass, c.cbTimeout = r.Username, r.Password, r.CallbackTimeout
	answer := bxml.Target{
		URL: r.AnswerURL, Method: orPOST(r.AnswerMethod),
		FallbackURL: r.AnswerFallbackURL, FallbackMethod: orPOST(r.AnswerFallbackMethod),
		Username: c.cbUser, Password: c.cbPass, FallbackUsername: r.FallbackUsername, FallbackPassword: r.FallbackPassword,
		Timeout: r.CallbackTimeout,
	}
	return e.place(c, r, answer, nil)
}

// place admits an outbound call and runs it in the background: once the
// callee answers, doc when it is not nil, else what the answer callback
// returns.
func (e *Engine) place(c *Call, r CallRequest, answer bxml.Target, doc *bxml.Document) (store.CallRecord, error) {
	timeout := r.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	if err := e.admit(c, netip.Addr{}); err != nil {
		return store.CallRecord{}, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if !e.add(c) {
		c.cancel()
		e.mu.Lock()
		e.releaseLocked(c)
		e.mu.Unlock()
		return store.CallRecord{}, errors.New("server is shutting down")
	}
	e.journal(c)
	// The snapshot is taken before the call runs: the caller is told what
	// it created (initiated), not whatever the call has become by the time
	// the goroutine is scheduled.
	created := c.Snapshot()
	go func() {
		defer e.remove(c)
		c.runOutbound(r, answer, doc, timeout)
	}()
	return created, nil
}

func orPOST(method string) string {
	if method == "" {
		return "POST"
	}
	return method
}

// checkRoute is createCall's early check that a phone number can be
// reached, so a missing route is a 400 rather than a failed call.
func (e *Engine) checkRoute(ctx context.Context, accountID, to, from string) error {
	err := ErrNoRoute
	if e.trunks != nil {
		_, err = e.trunks.Route(ctx, RouteRequest{AccountID: accountID, Number: to, From: from})
	}
	if errors.Is(err, ErrNoRoute) {
		return &store.ValidationError{Field: "to", Value: to, Reason: "no outbound route for this number: attach it (or the from number) to a SIP configuration with an outbound sip_endpoint (POST /v1/sip/attach), or call a sip: URI"}
	}
	return err
}

// runOutbound dials the callee and, once it answers, runs doc, or when it
// is nil the BXML the answer callback returns.
func (c *Call) runOutbound(r CallRequest, answer bxml.Target, doc *bxml.Document, timeout time.Duration) {
	defer c.cancel()
	c.sess = c.e.media.NewSession(media.SessionOptions{Logger: c.log})
	c.ownSess = true
	defer c.finish()
	from := c.fromURI(r.From)
	dctx, cancel := context.WithTimeout(c.ctx, timeout)
	b, err := c.dialLeg(dctx, "callee", r.To, from, r.DisplayName, legOptions{headers: uuiHeaders(r.UUI), privacy: r.Privacy})
	cancel()
	if err != nil {
		c.dialTrace = sip.DialTrace(err) // the failed attempt's trace is the call's
		c.logf(slog.LevelInfo, "engine", "dial %s: %v", r.To, err)
		c.noteDialFailure(err)
		c.end(dialCause(err), err.Error())
		return
	}
	// The dialled leg is this call's own leg: take it over.
	c.sipOut, c.leg, c.sipCallID = b.sipOut, b.leg, b.sipCallID
	c.mu.Lock()
	c.sipRoute = b.sipRoute
	c.mu.Unlock()
	c.markAnswered()
	c.watch(c.sipOut)
	c.startDTMF()
	if doc == nil {
		if doc, err = c.fetch(answer, c.answerEvent(r.MachineDetection, answer)); err != nil {
			c.endWithError(err)
			return
		}
	}
	c.program(doc)
}
