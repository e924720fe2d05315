package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// voiceAPI is the call engine and the trunk registrations as the API sees
// them: the API's wire types in, the engine's domain types out.
type voiceAPI struct {
	engine *calls.Engine
	regs   func() *trunkops.Registrations // nil until the node runs
}

var (
	_ api.Calls            = voiceAPI{}
	_ api.SIPRegistrations = voiceAPI{}
)

func (v voiceAPI) CreateCall(ctx context.Context, accountID string, r api.CreateCallRequest) (store.CallRecord, error) {
	rec, err := v.engine.CreateCall(ctx, accountID, calls.CallRequest{
		ApplicationID: r.ApplicationID, To: r.To, From: r.From, DisplayName: deref(r.DisplayName), Tag: r.Tag,
		Privacy: r.Privacy != nil && *r.Privacy, UUI: deref(r.UUI),
		AnswerURL: r.AnswerURL, AnswerMethod: deref(r.AnswerMethod),
		AnswerFallbackURL: deref(r.AnswerFallbackURL), AnswerFallbackMethod: deref(r.AnswerFallbackMethod),
		Username: deref(r.Username), Password: deref(r.Password),
		FallbackUsername: deref(r.FallbackUsername), FallbackPassword: deref(r.FallbackPassword),
		DisconnectURL: deref(r.DisconnectURL), DisconnectMethod: deref(r.DisconnectMethod),
		CallTimeout: seconds(r.CallTimeout), CallbackTimeout: seconds(r.CallbackTimeout),
		MachineDetection: machineDetection(r.MachineDetection),
	})
	if errors.Is(err, calls.ErrCapacity) {
		return rec, fmt.Errorf("%w: %s", api.ErrCallCapacity, strings.TrimPrefix(err.Error(), calls.ErrCapacity.Error()+": "))
	}
	return rec, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func seconds(p *float64) time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(*p * float64(time.Second))
}

func (v voiceAPI) LiveCall(accountID, id string) (store.CallRecord, bool) {
	return v.engine.LiveCall(accountID, id)
}

func (v voiceAPI) LiveCalls(accountID string) []store.CallRecord {
	return v.engine.LiveCalls(accountID)
}

func (v voiceAPI) HangupCall(accountID, id string) error {
	return notActive(id, v.engine.HangupCall(accountID, id))
}

func (v voiceAPI) RedirectCall(accountID, id string, t bxml.Target) error {
	return notActive(id, v.engine.RedirectCall(accountID, id, t))
}

func (v voiceAPI) ReplaceCallBXML(accountID, id string, doc *bxml.Document) error {
	return notActive(id, v.engine.ReplaceCallBXML(accountID, id, doc))
}

func (v voiceAPI) SetCallTag(accountID, id, tag string) error {
	return notActive(id, v.engine.SetCallTag(accountID, id, tag))
}

func (v voiceAPI) LiveCallLog(accountID, id string) ([]store.LogEntry, []store.SIPMessage, bool) {
	return v.engine.LiveCallLog(accountID, id)
}

func (v voiceAPI) CallQueue(accountID string) (int, int) {
	return v.engine.QueuedCalls(accountID), v.engine.AccountCallCap()
}

// notActive gives a call that is not live, or busy with another change,
// the API's error.
func notActive(id string, err error) error {
	switch {
	case errors.Is(err, calls.ErrNotLive):
		return fmt.Errorf("call %s: %w", id, api.ErrCallNotActive)
	case errors.Is(err, calls.ErrBusy):
		return fmt.Errorf("call %s is already being redirected or bridged; try again: %w", id, api.ErrCallBusy)
	}
	return err
}

// SIPRegistration is the state of the binding serving an inbound
// configuration, as GET /v1/sip shows it.
func (v voiceAPI) SIPRegistration(configID string) (api.SIPRegistrationView, bool) {
	if v.regs == nil || v.regs() == nil {
		return api.SIPRegistrationView{}, false
	}
	st, ok := v.regs().Status(configID)
	if !ok {
		return api.SIPRegistrationView{}, false
	}
	out := api.SIPRegistrationView{State: "pending"}
	switch {
	case st.Registered:
		out.State = "registered"
	case st.Err != nil:
		out.State = "failing"
	}
	if st.Err != nil {
		out.Error = st.Err.Error()
	}
	if !st.LastAttempt.IsZero() {
		t := st.LastAttempt.UTC()
		out.LastAttempt = &t
	}
	if !st.Expires.IsZero() {
		t := st.Expires.UTC()
		out.Expires = &t
	}
	return out, true
}
