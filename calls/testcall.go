package calls

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// TestCall places a SIP test call (POST /v1/sip/test-call): a call from and
// to the account's phone number through the number's outbound route, as
// any call to it goes (digest auth, transport, SRTP, header mappings). It
// belongs to no application and sends no callbacks: it rings for at most
// ring, and once answered stays up for hold (silence) and hangs up. Its
// record and SIP trace are saved as any call's. A number without an
// outbound route is a *store.ValidationError on phone_number.
func (e *Engine) TestCall(ctx context.Context, accountID, number string, ring, hold time.Duration) (store.CallRecord, error) {
	doc, err := bxml.Parse(fmt.Appendf(nil, `<Response><Pause duration="%g"/><Hangup/></Response>`, hold.Seconds()))
	if err != nil {
		return store.CallRecord{}, fmt.Errorf("test call document: %w", err)
	}
	return e.SystemCall(ctx, SystemCall{AccountID: accountID, Number: number, Tag: "sip-test-call", Ring: ring, Doc: doc}) // trunkops reads test calls by the tag
}

// SystemCall is a call the node places for itself (a trunk test call, a
// number verification): from and to Number through its outbound route,
// with no application. Once answered it runs Doc; the callbacks its verbs
// raise (a Gather's digits) go to OnEvent, not to any URL (nil: none do).
type SystemCall struct {
	AccountID, Number, Tag string
	Ring                   time.Duration
	Doc                    *bxml.Document
	OnEvent                func(ctx context.Context, ev bxml.Event) (*bxml.Document, error)
}

// SystemCall places s; a number without an outbound route is a
// *store.ValidationError on phone_number.
func (e *Engine) SystemCall(ctx context.Context, s SystemCall) (store.CallRecord, error) {
	if !sipdest.IsE164(s.Number) {
		return store.CallRecord{}, &store.ValidationError{Field: "phone_number", Value: s.Number, Reason: "must be an E.164 number"}
	}
	err := ErrNoRoute
	if e.trunks != nil {
		_, err = e.trunks.Route(ctx, RouteRequest{AccountID: s.AccountID, Number: s.Number})
	}
	if err != nil {
		if errors.Is(err, ErrNoRoute) {
			return store.CallRecord{}, &store.ValidationError{Field: "phone_number", Value: s.Number,
				Reason: "has no outbound SIP route: attach an outbound configuration with a sip_endpoint (POST /v1/sip/attach)"}
		}
		return store.CallRecord{}, err
	}
	c := newCall(e, store.Application{AccountID: s.AccountID}, "outbound")
	c.info.From, c.info.To = s.Number, s.Number
	c.info.EnqueuedTime = c.info.StartTime
	c.info.Tag = s.Tag
	c.onEvent = s.OnEvent
	c.system = true
	return e.place(c, CallRequest{To: s.Number, From: s.Number, CallTimeout: s.Ring}, bxml.Target{}, s.Doc)
}
