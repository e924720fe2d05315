package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

var _ api.Calls = (*Engine)(nil)

var (
	e164          = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	anonymousFrom = map[string]bool{"Restricted": true, "Anonymous": true, "Private": true, "Unavailable": true}
)

func isSIPURI(s string) bool { return strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:") }

// CreateCall validates a createCall request and places the call in the
// background; the answer callback drives it once the callee answers.
func (e *Engine) CreateCall(ctx context.Context, accountID string, r api.CreateCallRequest) (store.CallRecord, error) {
	app, err := e.store.Application(ctx, accountID, r.ApplicationID)
	if errors.Is(err, store.ErrNotFound) {
		return store.CallRecord{}, &store.ValidationError{Field: "applicationId", Value: r.ApplicationID, Reason: "no such application in this account"}
	}
	if err != nil {
		return store.CallRecord{}, err
	}
	switch {
	case isSIPURI(r.To):
	case e164.MatchString(r.To):
		if err := e.checkOutboundRoute(ctx, accountID, r.To, r.From); err != nil {
			return store.CallRecord{}, err
		}
	default:
		return store.CallRecord{}, &store.ValidationError{Field: "to", Value: r.To, Reason: "must be an E.164 number (+15555551212) or a sip:/sips: URI"}
	}
	if !e164.MatchString(r.From) && !anonymousFrom[r.From] && !isSIPURI(r.From) {
		return store.CallRecord{}, &store.ValidationError{Field: "from", Value: r.From, Reason: "must be an E.164 number, a SIP URI, or Restricted, Anonymous, Private, Unavailable"}
	}
	for _, u := range []struct {
		field string
		v     *string
	}{{"answerUrl", &r.AnswerURL}, {"answerFallbackUrl", r.AnswerFallbackURL}, {"disconnectUrl", r.DisconnectURL}} {
		if u.v != nil && *u.v != "" && !strings.HasPrefix(*u.v, "http://") && !strings.HasPrefix(*u.v, "https://") {
			return store.CallRecord{}, &store.ValidationError{Field: u.field, Value: *u.v, Reason: "must be an absolute http:// or https:// URL"}
		}
	}
	c := newCall(e, app, "outbound")
	c.info.From, c.info.To = r.From, r.To
	c.info.EnqueuedTime = c.info.StartTime
	if r.Tag != nil {
		c.info.Tag = *r.Tag
	}
	c.disconnectURL, c.disconnectMethod = deref(r.DisconnectURL), orDefault(deref(r.DisconnectMethod), "POST")
	c.cbUser, c.cbPass = deref(r.Username), deref(r.Password)
	answer := bxml.Target{
		URL: r.AnswerURL, Method: orDefault(deref(r.AnswerMethod), "POST"),
		FallbackURL: deref(r.AnswerFallbackURL), FallbackMethod: orDefault(deref(r.AnswerFallbackMethod), "POST"),
		Username: c.cbUser, Password: c.cbPass, FallbackUsername: deref(r.FallbackUsername), FallbackPassword: deref(r.FallbackPassword),
	}
	if r.CallbackTimeout != nil {
		answer.Timeout = time.Duration(*r.CallbackTimeout * float64(time.Second))
	}
	timeout := 30 * time.Second
	if r.CallTimeout != nil {
		timeout = time.Duration(*r.CallTimeout * float64(time.Second))
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if !e.add(c) {
		c.cancel()
		return store.CallRecord{}, errors.New("server is shutting down")
	}
	go func() {
		defer e.remove(c)
		c.runOutbound(r, answer, timeout)
	}()
	return c.Snapshot(), nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// runOutbound dials the callee and, once it answers, runs the BXML the
// answer callback returns.
func (c *Call) runOutbound(r api.CreateCallRequest, answer bxml.Target, timeout time.Duration) {
	defer c.cancel()
	c.sess = c.e.media.NewSession(media.SessionOptions{Logger: c.log})
	c.ownSess = true
	defer c.finish()
	from := c.fromURI(r.From)
	dctx, cancel := context.WithTimeout(c.ctx, timeout)
	b, err := c.dialLeg(dctx, "callee", r.To, from, deref(r.DisplayName))
	cancel()
	if err != nil {
		c.logf(slog.LevelInfo, "engine", "dial %s: %v", r.To, err)
		c.end(dialCause(err), err.Error())
		return
	}
	// The dialled leg is this call's own leg: take it over.
	c.sipOut, c.leg, c.sipCallID = b.sipOut, b.leg, b.sipCallID
	c.markAnswered()
	go func() {
		select {
		case <-c.sipOut.Done():
			c.end(causeFor(c.sipOut.EndReason()), "")
		case <-c.ctx.Done():
		}
	}()
	c.startDTMF()
	doc, err := c.fetch(answer, &bxml.AnswerEvent{})
	if err != nil {
		c.endWithError(err)
		return
	}
	c.program(doc)
}

// LiveCall implements api.Calls.
func (e *Engine) LiveCall(accountID, id string) (store.CallRecord, bool) {
	c, ok := e.Call(accountID, id)
	if !ok {
		return store.CallRecord{}, false
	}
	return c.Snapshot(), true
}

// HangupCall implements api.Calls.
func (e *Engine) HangupCall(accountID, id string) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, api.ErrCallNotActive)
	}
	c.logf(slog.LevelInfo, "api", "hangup requested")
	c.end(bxml.CauseHangup, "")
	return nil
}

// RedirectCall implements api.Calls.
func (e *Engine) RedirectCall(accountID, id string, t bxml.Target) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, api.ErrCallNotActive)
	}
	return c.redirectErr(c.Redirect(func(context.Context) (*bxml.Document, error) {
		c.logf(slog.LevelInfo, "api", "redirect to %s", t.URL)
		return c.fetch(t, &bxml.RedirectEvent{})
	}))
}

// ReplaceCallBXML implements api.Calls.
func (e *Engine) ReplaceCallBXML(accountID, id string, doc *bxml.Document) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, api.ErrCallNotActive)
	}
	return c.redirectErr(c.Redirect(func(context.Context) (*bxml.Document, error) {
		c.logf(slog.LevelInfo, "api", "BXML replaced")
		return doc, nil
	}))
}

func (c *Call) redirectErr(err error) error {
	switch {
	case errors.Is(err, ErrCallEnded):
		return fmt.Errorf("call %s: %w", c.id, api.ErrCallNotActive)
	case errors.Is(err, ErrBusy):
		return &store.ValidationError{Field: "callId", Value: c.id, Reason: "the call is already being redirected or bridged; try again"}
	}
	return err
}
