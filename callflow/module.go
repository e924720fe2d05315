package callflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

var _ Source = (*Modules)(nil)

// Fetch runs req.Event through the module of req.Call's application: a warm
// instance gets the ABI v1 event JSON (the Bandwidth callback members plus
// the call's variables), and the decision's BXML is parsed like a webhook's
// answer. Reply.URL stays empty, so the document base (for relative URLs
// and the webhook fallback) is unchanged: a callback URL in a module's BXML
// (say gatherUrl="/gather") only asks for the event, and with a webhook
// fallback resolves against the webhook's URL.
func (m *Modules) Fetch(ctx context.Context, req Request) (Reply, error) {
	if req.Event == nil || req.Call == nil {
		return Reply{}, errors.New("module source: Fetch needs an event and its call")
	}
	typ := string(req.Event.Type())
	app := req.Call.Application()
	pool, name, err := m.pool(ctx, app)
	if err != nil {
		return Reply{}, &ModuleError{Event: typ, Module: app.ModuleID, Err: err}
	}
	if pool.SkipUnhandled(sdk.EventType(typ)) {
		return Reply{}, nil // the module has no handler for it: nothing to encode or run
	}
	c := req.Event.Common()
	c.EventType = req.Event.Type()
	if c.EventTime.IsZero() {
		c.EventTime = bxml.At(time.Now())
	}
	raw, err := callEventJSON(req.Event, req.Call.Variables())
	if err != nil {
		return Reply{}, err
	}
	d, err := pool.HandleJSON(ctx, sdk.EventType(typ), raw, wasmhost.WithLogger(slog.New(callLogHandler{call: req.Call})))
	if err != nil {
		return Reply{}, &ModuleError{Event: typ, Module: name, Err: err}
	}
	if len(d.Variables) > 0 {
		req.Call.SetVariables(d.Variables)
	}
	if d.BXML == "" {
		return Reply{}, nil
	}
	doc, err := bxml.Parse([]byte(d.BXML))
	if err != nil {
		return Reply{}, &ModuleError{Event: typ, Module: name, Err: fmt.Errorf("%w: %w", ErrInvalidBXML, err)}
	}
	return Reply{Doc: doc}, nil
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
	// This host accepts {"unhandled":true} (see wasmhost.Pool.SkipUnhandled).
	b.WriteString(`,"` + sdk.UnhandledOKMember + `":true`)
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
