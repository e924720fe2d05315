package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

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

// sipHookEvent runs a SIP hook on the application's module.
func (c *Call) sipHookEvent(ctx context.Context, ev sdk.Event) (sdk.Decision, error) {
	pool, name, err := c.e.wasm.pool(ctx, c.app)
	if err != nil {
		return sdk.Decision{}, &ModuleError{Event: string(ev.Type), Module: c.app.ModuleID, Err: err}
	}
	d, err := pool.Handle(ctx, ev, wasmhost.WithLogger(slog.New(callLogHandler{c})))
	if err == nil {
		err = checkHeaderChanges(d)
	}
	if err != nil {
		return sdk.Decision{}, &ModuleError{Event: string(ev.Type), Module: name, Err: err}
	}
	return d, nil
}

// sipInboundHook runs the application's sip.inbound module on the INVITE
// before the call starts. It returns false when the module rejected the
// call (the INVITE is answered). A module failure lets the call continue
// unchanged: the hook is a refinement, the call flow still runs.
func (c *Call) sipInboundHook(ctx context.Context) bool {
	if !c.usesModule(store.ModuleEventSIPInbound) {
		return true
	}
	in := c.sipIn
	req := &sdk.SIPRequest{
		Method: string(in.Request.Method), RequestURI: in.Request.Recipient.String(),
		From: headerValue(in.Request, "From"), To: headerValue(in.Request, "To"),
		Source: in.Source.String(), Headers: map[string][]string{}, XHeaders: map[string][]string{},
	}
	for _, h := range in.Request.Headers() {
		req.Headers[h.Name()] = append(req.Headers[h.Name()], h.Value())
	}
	for _, h := range in.XHeaders {
		req.XHeaders[h.Name] = append(req.XHeaders[h.Name], h.Value)
	}
	// Variables a trunk's inbound header mappings set are already there.
	d, err := c.sipHookEvent(ctx, sdk.Event{Type: sdk.EventSIPInbound, Variables: maps.Clone(c.vars), SIP: req})
	if err != nil {
		moduleFailures.WithLabelValues("sip.inbound", "ignored").Inc()
		c.logf(slog.LevelWarn, "module", "%v; the call continues without it", err)
		return true
	}
	switch d.Action {
	case sdk.ActionReject:
		c.logf(slog.LevelInfo, "module", "sip.inbound: rejected with %d %s", d.Status, d.Reason)
		reason := d.Reason
		if reason == "" {
			reason = "Rejected"
		}
		in.Reject(d.Status, reason)
		return false
	case sdk.ActionRoute:
		app, err := c.e.store.Application(ctx, c.app.AccountID, d.ApplicationID)
		if err != nil {
			moduleFailures.WithLabelValues("sip.inbound", "ignored").Inc()
			c.logf(slog.LevelWarn, "module", "sip.inbound: route to application %s: %v; the call stays on %s", d.ApplicationID, err, c.app.ID)
			break
		}
		c.logf(slog.LevelInfo, "module", "sip.inbound: routed from application %s to %s", c.app.ID, app.ID)
		c.app = app
		c.info.ApplicationID = app.ID
	}
	if len(d.SetHeaders) > 0 || len(d.RemoveHeaders) > 0 {
		// A copy: the SIP stack answers the INVITE from the original.
		r := in.Request.Clone()
		applyHeaderChanges(r, d)
		in.Request = r
	}
	c.setVars(d.Variables)
	return true
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

// sipOutboundHook runs the application's sip.outbound module for an INVITE
// the call is about to send and returns the headers to send with it. A
// module failure sends the INVITE without the module's headers; a reject
// refuses the leg.
func (c *Call) sipOutboundHook(ctx context.Context, uri, from string, headers []sip.Header) ([]sip.Header, error) {
	if !c.usesModule(store.ModuleEventSIPOutbound) {
		return headers, nil
	}
	c.mu.Lock()
	vars := maps.Clone(c.vars)
	c.mu.Unlock()
	hm := map[string][]string{}
	for _, h := range headers {
		hm[h.Name] = append(hm[h.Name], h.Value)
	}
	ev := sdk.Event{Type: sdk.EventSIPOutbound, Variables: vars, SIP: &sdk.SIPRequest{
		Method: "INVITE", RequestURI: uri, From: from, To: "<" + uri + ">", Headers: hm,
	}}
	d, err := c.sipHookEvent(ctx, ev)
	if err != nil {
		moduleFailures.WithLabelValues("sip.outbound", "ignored").Inc()
		c.logf(slog.LevelWarn, "module", "%v; the INVITE goes out without its headers", err)
		return headers, nil
	}
	if d.Action == sdk.ActionReject {
		c.logf(slog.LevelInfo, "module", "sip.outbound: refused the INVITE to %s (%d %s)", uri, d.Status, d.Reason)
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
	c.setVars(d.Variables)
	return out, nil
}
