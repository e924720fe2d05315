package callflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// The SIP hooks: an application's module may look at the INVITE that
// starts a call (sip.inbound) and at every INVITE a call sends
// (sip.outbound), and continue, reject, route to another application or
// change headers. A module failure never stops the call: the hook is a
// refinement, the call flow still runs.

// protectedHeaders are the headers a module may not set or remove: the
// dialog and transaction rest on them, or the SIP stack computes them.
var protectedHeaders = map[string]bool{
	"via": true, "from": true, "to": true, "call-id": true, "cseq": true, "contact": true,
	"record-route": true, "route": true, "max-forwards": true, "content-length": true,
	"content-type": true, "authorization": true, "proxy-authorization": true,
}

// errProtectedHeader refuses a decision touching a protected header.
var errProtectedHeader = errors.New("header may not be changed by a module")

func checkHeaderChanges(d sdk.Decision) error {
	for name := range d.SetHeaders {
		if protectedHeaders[strings.ToLower(name)] {
			return fmt.Errorf("setHeaders %s: %w", name, errProtectedHeader)
		}
	}
	for _, name := range d.RemoveHeaders {
		if protectedHeaders[strings.ToLower(name)] {
			return fmt.Errorf("removeHeaders %s: %w", name, errProtectedHeader)
		}
	}
	return nil
}

// hook runs a SIP hook on the module of call's application.
func (m *Mux) hook(ctx context.Context, call Call, ev sdk.Event) (sdk.Decision, error) {
	app := call.Application()
	pool, name, err := m.modules.pool(ctx, app)
	if err != nil {
		return sdk.Decision{}, &ModuleError{Event: string(ev.Type), Module: app.ModuleID, Err: err}
	}
	d, err := pool.Handle(ctx, ev, wasmhost.WithLogger(slog.New(callLogHandler{call: call})))
	if err == nil {
		err = checkHeaderChanges(d)
	}
	if err != nil {
		return sdk.Decision{}, &ModuleError{Event: string(ev.Type), Module: name, Err: err}
	}
	return d, nil
}

// Invite is an INVITE the front door accepted, as the sip.inbound hook sees
// it.
type Invite struct {
	Request  *sipgo.Request // without the X-* headers the front door removed
	XHeaders []sip.Header   // the removed X-* headers, in order
	Source   netip.AddrPort
}

// InviteDecision is what the application decided about an inbound INVITE.
// The zero value lets the call go on unchanged.
type InviteDecision struct {
	// Status, when not 0, rejects the INVITE with Status and Reason.
	Status int
	Reason string
	// Application, when set, takes the call over (the module routed it to
	// another application of the account).
	Application *store.Application
	// Request is the INVITE with the module's header changes (nil: none).
	Request *sipgo.Request
}

// SIPInbound runs the sip.inbound hook of call's application on inv, when
// its module handles that event. Variables the decision sets go to the call.
func (m *Mux) SIPInbound(ctx context.Context, call Call, inv Invite) InviteDecision {
	if !m.usesModule(call, store.ModuleEventSIPInbound) {
		return InviteDecision{}
	}
	r := inv.Request
	req := &sdk.SIPRequest{
		Method: string(r.Method), RequestURI: r.Recipient.String(),
		From: headerValue(r, "From"), To: headerValue(r, "To"),
		Source: inv.Source.String(), Headers: map[string][]string{}, XHeaders: map[string][]string{},
	}
	for _, h := range r.Headers() {
		req.Headers[h.Name()] = append(req.Headers[h.Name()], h.Value())
	}
	for _, h := range inv.XHeaders {
		req.XHeaders[h.Name] = append(req.XHeaders[h.Name], h.Value)
	}
	// Variables a trunk's inbound header mappings set are already there.
	d, err := m.hook(ctx, call, sdk.Event{Type: sdk.EventSIPInbound, Variables: call.Variables(), SIP: req})
	if err != nil {
		moduleFailures.WithLabelValues("sip.inbound", "ignored").Inc()
		call.Logf(slog.LevelWarn, "module", "%v; the call continues without it", err)
		return InviteDecision{}
	}
	var out InviteDecision
	switch d.Action {
	case sdk.ActionReject:
		call.Logf(slog.LevelInfo, "module", "sip.inbound: rejected with %d %s", d.Status, d.Reason)
		out.Status, out.Reason = d.Status, d.Reason
		if out.Reason == "" {
			out.Reason = "Rejected"
		}
		return out
	case sdk.ActionRoute:
		from := call.Application()
		app, err := m.modules.store.Application(ctx, from.AccountID, d.ApplicationID)
		if err != nil {
			moduleFailures.WithLabelValues("sip.inbound", "ignored").Inc()
			call.Logf(slog.LevelWarn, "module", "sip.inbound: route to application %s: %v; the call stays on %s", d.ApplicationID, err, from.ID)
			break
		}
		call.Logf(slog.LevelInfo, "module", "sip.inbound: routed from application %s to %s", from.ID, app.ID)
		out.Application = &app
	}
	if len(d.SetHeaders) > 0 || len(d.RemoveHeaders) > 0 {
		// A copy: the SIP stack answers the INVITE from the original.
		out.Request = r.Clone()
		applyHeaderChanges(out.Request, d)
	}
	call.SetVariables(d.Variables)
	return out
}

// applyHeaderChanges removes, then sets (replacing) headers on r.
func applyHeaderChanges(r *sipgo.Request, d sdk.Decision) {
	remove := func(name string) {
		for _, h := range r.Headers() {
			if strings.EqualFold(h.Name(), name) {
				r.RemoveHeader(h.Name())
			}
		}
	}
	for _, name := range d.RemoveHeaders {
		remove(name)
	}
	for name, v := range d.SetHeaders {
		remove(name)
		r.AppendHeader(sipgo.NewHeader(name, v))
	}
}

func headerValue(r *sipgo.Request, name string) string {
	if h := r.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// SIPOutbound runs the sip.outbound hook of call's application for an
// INVITE the call is about to send to uri, and returns the headers to send
// with it. A module failure sends the INVITE with headers unchanged; a
// reject refuses the leg with an error matching ErrModuleFailed.
func (m *Mux) SIPOutbound(ctx context.Context, call Call, uri, from string, headers []sip.Header) ([]sip.Header, error) {
	if !m.usesModule(call, store.ModuleEventSIPOutbound) {
		return headers, nil
	}
	hm := map[string][]string{}
	for _, h := range headers {
		hm[h.Name] = append(hm[h.Name], h.Value)
	}
	ev := sdk.Event{Type: sdk.EventSIPOutbound, Variables: call.Variables(), SIP: &sdk.SIPRequest{
		Method: "INVITE", RequestURI: uri, From: from, To: "<" + uri + ">", Headers: hm,
	}}
	d, err := m.hook(ctx, call, ev)
	if err != nil {
		moduleFailures.WithLabelValues("sip.outbound", "ignored").Inc()
		call.Logf(slog.LevelWarn, "module", "%v; the INVITE goes out without its headers", err)
		return headers, nil
	}
	if d.Action == sdk.ActionReject {
		call.Logf(slog.LevelInfo, "module", "sip.outbound: refused the INVITE to %s (%d %s)", uri, d.Status, d.Reason)
		return nil, fmt.Errorf("%w: sip.outbound refused %s: %d %s", ErrModuleFailed, uri, d.Status, d.Reason)
	}
	out := make([]sip.Header, 0, len(headers)+len(d.SetHeaders))
	for _, h := range headers {
		drop := false
		for _, name := range d.RemoveHeaders {
			drop = drop || strings.EqualFold(name, h.Name)
		}
		for name := range d.SetHeaders {
			drop = drop || strings.EqualFold(name, h.Name)
		}
		if !drop {
			out = append(out, h)
		}
	}
	for name, v := range d.SetHeaders {
		out = append(out, sip.Header{Name: name, Value: v})
	}
	call.SetVariables(d.Variables)
	return out, nil
}
