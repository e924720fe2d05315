package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// ModuleSource is a callflow.Source backed by an application's Wasm module:
// each event goes to a warm instance as ABI v1 event JSON (the Bandwidth
// callback members plus the call's variables), and the decision's BXML is
// parsed like a webhook's answer. A callback URL in the module's BXML (say
// gatherUrl="/gather") only asks for the event; with a webhook fallback it
// resolves against the webhook's URL.
type ModuleSource struct {
	w   *wasmEngine
	app store.Application
	// Vars returns the call's variables; SetVars merges a decision's.
	Vars    func() map[string]string
	SetVars func(map[string]string)
	// Logger receives the guest's log lines (the call's log).
	Logger *slog.Logger
}

var _ callflow.Source = (*ModuleSource)(nil)

// ModuleError is a module failure: the event kind, the module and why
// (a *wasmhost.EventError, a bad decision or invalid BXML).
type ModuleError struct {
	Event  string
	Module string
	Err    error
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("module %s failed on %s: %v", e.Module, e.Event, e.Err)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// Fetch runs req.Event through the module. Reply.URL stays empty, so the
// document base (for relative URLs and the webhook fallback) is unchanged.
func (s *ModuleSource) Fetch(ctx context.Context, req callflow.Request) (callflow.Reply, error) {
	if req.Event == nil {
		return callflow.Reply{}, errors.New("module source: Fetch without an event")
	}
	typ := string(req.Event.Type())
	pool, name, err := s.w.pool(ctx, s.app)
	if err != nil {
		return callflow.Reply{}, &ModuleError{Event: typ, Module: s.app.ModuleID, Err: err}
	}
	c := req.Event.Common()
	c.EventType = req.Event.Type()
	if c.EventTime.IsZero() {
		c.EventTime = bxml.At(time.Now())
	}
	var vars map[string]string
	if s.Vars != nil {
		vars = s.Vars()
	}
	raw, err := callEventJSON(req.Event, vars)
	if err != nil {
		return callflow.Reply{}, err
	}
	d, err := pool.HandleJSON(ctx, sdk.EventType(typ), raw, wasmhost.WithLogger(s.Logger))
	if err != nil {
		return callflow.Reply{}, &ModuleError{Event: typ, Module: name, Err: err}
	}
	if len(d.Variables) > 0 && s.SetVars != nil {
		s.SetVars(d.Variables)
	}
	if d.BXML == "" {
		return callflow.Reply{}, nil
	}
	doc, err := bxml.Parse([]byte(d.BXML))
	if err != nil {
		return callflow.Reply{}, &ModuleError{Event: typ, Module: name, Err: fmt.Errorf("%w: %w", callflow.ErrInvalidBXML, err)}
	}
	return callflow.Reply{Doc: doc}, nil
}

// callEventJSON is the ABI v1 event for a call event: the webhook's JSON
// object with "v", "event" and "variables" spliced in front, so the event
// is encoded once, as the webhook encodes it.
func callEventJSON(ev bxml.Event, vars map[string]string) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Type(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("encode %s event: not a JSON object", ev.Type())
	}
	typ, _ := json.Marshal(string(ev.Type()))
	var b bytes.Buffer
	b.Grow(len(body) + 64)
	b.WriteString(`{"v":1,"event":`)
	b.Write(typ)
	if len(vars) > 0 {
		vj, err := json.Marshal(vars)
		if err != nil {
			return nil, fmt.Errorf("encode variables: %w", err)
		}
		b.WriteString(`,"variables":`)
		b.Write(vj)
	}
	if len(body) > 2 {
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	return b.Bytes(), nil
}

// moduleSource is the call's module source.
func (c *Call) moduleSource() *ModuleSource {
	return &ModuleSource{
		w: c.e.wasm, app: c.app, Logger: slog.New(callLogHandler{c}),
		Vars: func() map[string]string {
			c.mu.Lock()
			defer c.mu.Unlock()
			return maps.Clone(c.vars)
		},
		SetVars: c.setVars,
	}
}

func (c *Call) setVars(vs map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	maps.Copy(c.vars, vs)
}

// usesModule reports whether the call's application sends events of kind
// to its module.
func (c *Call) usesModule(kind string) bool {
	return c.e.wasm != nil && c.app.Handles(kind)
}

// fetchModule asks the module for the answer to ev. handled is false when
// the module failed and the webhook target t should be tried instead; a
// failure with no webhook to fall back to is ErrModuleFailed.
func (c *Call) fetchModule(ctx context.Context, t bxml.Target, ev bxml.Event) (doc *bxml.Document, handled bool, err error) {
	reply, err := c.moduleSource().Fetch(ctx, callflow.Request{Event: ev, Target: t})
	if err == nil {
		return reply.Doc, true, nil
	}
	if ctx.Err() != nil {
		return nil, true, err
	}
	if t.IsZero() {
		moduleFailures.WithLabelValues("call", "error").Inc()
		c.logf(slog.LevelError, "module", "%v; no webhook to fall back to", err)
		return nil, true, fmt.Errorf("%w: %w", ErrModuleFailed, err)
	}
	moduleFailures.WithLabelValues("call", "fallback").Inc()
	c.logf(slog.LevelWarn, "module", "%v; falling back to the webhook", err)
	return nil, false, nil
}

// callLogHandler puts a guest's log lines into the call's log, tagged with
// the module name.
type callLogHandler struct{ c *Call }

func (h callLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h callLogHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "source" {
			msg += " " + a.String()
		}
		return true
	})
	h.c.logf(r.Level, "module", "%s", msg)
	return nil
}

func (h callLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return attrHandler{h, as}
}

func (h callLogHandler) WithGroup(string) slog.Handler { return h }

// attrHandler keeps attributes added with With (wasmhost adds the module
// name) for every record.
type attrHandler struct {
	h  callLogHandler
	as []slog.Attr
}

func (a attrHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (a attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(a.as...)
	return a.h.Handle(ctx, r)
}

func (a attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return attrHandler{a.h, append(append([]slog.Attr{}, a.as...), as...)}
}

func (a attrHandler) WithGroup(string) slog.Handler { return a }

// notifyModule sends an event whose answer is ignored (disconnect) to the
// module, in its own goroutine owned by the engine's wait group, falling
// back to the webhook target when the module fails.
func (c *Call) notifyModule(t bxml.Target, ev bxml.Event) {
	info := c.snapshotInfo()
	ev.Fill(&info)
	src := c.moduleSource()
	c.e.wg.Add(1)
	go func() {
		defer c.e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := src.Fetch(ctx, callflow.Request{Event: ev, Target: t})
		if err == nil {
			return
		}
		if t.IsZero() {
			moduleFailures.WithLabelValues("call", "ignored").Inc()
			c.logf(slog.LevelWarn, "module", "%v", err)
			return
		}
		moduleFailures.WithLabelValues("call", "fallback").Inc()
		c.logf(slog.LevelWarn, "module", "%v; falling back to the webhook", err)
		c.mu.Lock()
		base := c.base
		c.mu.Unlock()
		if _, err := c.e.source.Fetch(ctx, callflow.Request{Event: ev, Target: t, Base: base}); err != nil {
			c.logf(slog.LevelWarn, "callback", "%s: %v", ev.Type(), err)
		}
	}()
}
