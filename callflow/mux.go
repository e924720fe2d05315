package callflow

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/store"
)

// The metric keeps the name it had when the engine handled module failures.
var moduleFailures = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_server_module_failures_total",
	Help: "Wasm module failures by event kind and what the call did (fallback, error, ignored).",
}, []string{"kind", "handling"})

// Mux is the node's call-flow source. Each event of a call goes to the
// application's module when the application binds one for call events, else
// to its webhook; when the module fails, the event falls back to the
// webhook URL it has, so the engine never asks which kind answered.
type Mux struct {
	webhook Source
	modules *Modules
}

var _ Source = (*Mux)(nil)

// NewMux sends events to webhook, and to modules' modules (nil: no module
// runs, every event goes to the webhook).
func NewMux(webhook Source, modules *Modules) *Mux {
	return &Mux{webhook: webhook, modules: modules}
}

// usesModule reports whether call's application sends events of kind
// (store.ModuleEvent*) to its module.
func (m *Mux) usesModule(call Call, kind string) bool {
	return m.modules != nil && call != nil && call.Application().Handles(kind)
}

// Fetch delivers req to the module or the webhook. An event whose answer
// the call runs goes to the module, falling back to the webhook when
// req.Target has a URL, else failing with ErrModuleFailed. A notification
// (disconnect, recordingAvailable, ...) goes to the module and to its URL
// when it has one.
func (m *Mux) Fetch(ctx context.Context, req Request) (Reply, error) {
	if m.usesModule(req.Call, store.ModuleEventCall) && !req.Event.Type().ExpectsBXML() && !req.Target.IsZero() {
		// A status callback (disconnect, recordingAvailable, ...) reaches
		// its URL whoever answers the call's BXML events, as it would
		// with webhooks alone; the module gets it too.
		if _, err := m.modules.Fetch(ctx, req); err != nil && ctx.Err() == nil {
			moduleFailures.WithLabelValues("call", "ignored").Inc()
			req.Call.Logf(slog.LevelWarn, "module", "%v", err)
		}
		return m.webhook.Fetch(ctx, req)
	}
	if m.usesModule(req.Call, store.ModuleEventCall) {
		reply, err := m.modules.Fetch(ctx, req)
		if err == nil || ctx.Err() != nil {
			return reply, err
		}
		switch {
		case !req.Target.IsZero():
			moduleFailures.WithLabelValues("call", "fallback").Inc()
			req.Call.Logf(slog.LevelWarn, "module", "%v; falling back to the webhook", err)
		case req.Event.Type().ExpectsBXML():
			moduleFailures.WithLabelValues("call", "error").Inc()
			req.Call.Logf(slog.LevelError, "module", "%v; no webhook to fall back to", err)
			return Reply{}, fmt.Errorf("%w: %w", ErrModuleFailed, err)
		default:
			moduleFailures.WithLabelValues("call", "ignored").Inc()
			req.Call.Logf(slog.LevelWarn, "module", "%v", err)
			return Reply{}, nil
		}
	}
	if req.Target.IsZero() {
		return Reply{}, nil
	}
	return m.webhook.Fetch(ctx, req)
}
