package callflow

import (
	"context"
	"log/slog"
	"strings"

	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// ReferRequest is a REFER a peer sent in a call, as the sip.refer hook sees
// it: Call is the referrer's call, TransfereeCallID the call it moves.
type ReferRequest struct {
	Refer            *sip.Refer
	TransfereeCallID string
}

// ReferDecision is what the application's sip.refer hook decided. The zero
// value has no opinion: the server's own rules decide.
type ReferDecision struct {
	// Status, when not 0, refuses the REFER with it.
	Status int
	// Allow accepts the REFER to Target (the Refer-To, or the module's
	// rewrite) with Headers on the new leg's INVITE.
	Allow   bool
	Target  string
	Headers []sip.Header
}

// SIPRefer runs the sip.refer hook of call's application: continue allows
// the REFER (a "Refer-To" in setHeaders rewrites the target, the other
// setHeaders go on the INVITE to it), reject refuses it. A module failure,
// or no module, leaves the decision to the server's rules.
func (m *Mux) SIPRefer(ctx context.Context, call Call, rr ReferRequest) ReferDecision {
	if !m.usesModule(call, store.ModuleEventSIPRefer) {
		return ReferDecision{}
	}
	r := rr.Refer.Request
	req := &sdk.SIPRequest{
		Method: "REFER", RequestURI: rr.Refer.Target, From: headerValue(r, "From"), To: headerValue(r, "To"),
		Source: r.Source(), Headers: map[string][]string{}, XHeaders: map[string][]string{},
	}
	for _, h := range r.Headers() {
		req.Headers[h.Name()] = append(req.Headers[h.Name()], h.Value())
	}
	for _, h := range rr.Refer.XHeaders {
		req.XHeaders[h.Name] = append(req.XHeaders[h.Name], h.Value)
	}
	vars := call.Variables()
	vars["transfereeCallId"] = rr.TransfereeCallID
	d, err := m.hook(ctx, call, sdk.Event{Type: sdk.EventSIPRefer, Variables: vars, SIP: req})
	if err != nil {
		moduleFailures.WithLabelValues("sip.refer", "ignored").Inc()
		call.Logf(slog.LevelWarn, "module", "%v; the server's REFER rules decide", err)
		return ReferDecision{}
	}
	if d.Action == sdk.ActionReject {
		call.Logf(slog.LevelInfo, "module", "sip.refer: refused the REFER to %s (%d %s)", rr.Refer.Target, d.Status, d.Reason)
		return ReferDecision{Status: d.Status}
	}
	out := ReferDecision{Allow: true}
	for name, v := range d.SetHeaders {
		if strings.EqualFold(name, "Refer-To") {
			out.Target = strings.Trim(strings.TrimSpace(v), "<>")
			continue
		}
		out.Headers = append(out.Headers, sip.Header{Name: name, Value: v})
	}
	call.SetVariables(d.Variables)
	call.Logf(slog.LevelInfo, "module", "sip.refer: allowed the REFER to %s", rr.Refer.Target)
	return out
}
