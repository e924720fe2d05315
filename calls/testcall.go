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
	if !sipdest.IsE164(number) {
		return store.CallRecord{}, &store.ValidationError{Field: "phone_number", Value: number, Reason: "must be an E.164 number"}
	}
	err := ErrNoRoute
	if e.trunks != nil {
		_, err = e.trunks.Route(ctx, RouteRequest{AccountID: accountID, Number: number})
	}
	if err != nil {
		if errors.Is(err, ErrNoRoute) {
			return store.CallRecord{}, &store.ValidationError{Field: "phone_number", Value: number,
				Reason: "has no outbound SIP route: attach an outbound configuration with a sip_endpoint (POST /v1/sip/attach)"}
		}
		return store.CallRecord{}, err
	}
	doc, err := bxml.Parse(fmt.Appendf(nil, `<Response><Pause duration="%g"/><Hangup/></Response>`, hold.Seconds()))
	if err != nil {
		return store.CallRecord{}, fmt.Errorf("test call document: %w", err)
	}
	c := newCall(e, store.Application{AccountID: accountID}, "outbound")
	c.info.From, c.info.To = number, number
	c.info.EnqueuedTime = c.info.StartTime
	c.info.Tag = "sip-test-call" // trunkops reads test calls by it
	return e.place(c, CallRequest{To: number, From: number, CallTimeout: ring}, bxml.Target{}, doc)
}
