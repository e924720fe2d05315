package callflow

import (
	"context"
	"log/slog"

	"github.com/wasmvoice/wasmvoice/store"
)

// Call is what a source needs of the call an event belongs to. The engine's
// calls implement it.
type Call interface {
	// Application is the call's application: its module binding says which
	// events its module answers, and with which limits.
	Application() store.Application
	// Variables returns a copy of the call's variables (set by trunk header
	// mappings and module decisions); webhooks get them in VariablesHeader,
	// modules in the event's "variables".
	Variables() map[string]string
	// SetVariables merges the variables a module's decision set.
	SetVariables(map[string]string)
	// Logf adds a line to the call's log: module failures, fallbacks and a
	// guest's own log lines go there (source "module").
	Logf(level slog.Level, source, format string, args ...any)
}

// callLogHandler turns a guest's log records into lines of the call's log.
type callLogHandler struct {
	call  Call
	attrs []slog.Attr // added with With (wasmhost adds the module name)
}

func (h callLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h callLogHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	add := func(a slog.Attr) bool {
		if a.Key != "source" {
			msg += " " + a.String()
		}
		return true
	}
	r.Attrs(add)
	for _, a := range h.attrs {
		add(a)
	}
	h.call.Logf(r.Level, "module", "%s", msg)
	return nil
}

func (h callLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return callLogHandler{call: h.call, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h callLogHandler) WithGroup(string) slog.Handler { return h }
