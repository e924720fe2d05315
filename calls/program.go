package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
)

// maxCallbacks bounds how many BXML documents one call may run, so a
// backend that answers every gather with another gather cannot pin a call
// forever by accident; a real IVR stays far below it.
const maxCallbacks = 1000

// program runs BXML documents until one ends the call.
func (c *Call) program(doc *bxml.Document) {
	for n := 0; ; n++ {
		if c.ctx.Err() != nil {
			return
		}
		if n >= maxCallbacks {
			c.end(bxml.CauseApplicationError, fmt.Sprintf("more than %d BXML documents in one call", maxCallbacks))
			return
		}
		if doc == nil {
			c.end(bxml.CauseHangup, "") // no (more) BXML: the call is done
			return
		}
		var err error
		runCtx, stop := context.WithCancel(c.ctx)
		next := make(chan takeover, 1)
		go func() {
			select {
			case t := <-c.interrupt:
				next <- t
				stop()
			case <-runCtx.Done():
			}
		}()
		out, err := bxml.Run(runCtx, doc, c)
		stop()
		select {
		case t := <-next:
			if doc, err = t(c.ctx); err != nil {
				if c.ctx.Err() == nil {
					c.endWithError(err)
				}
				return
			}
			continue
		default:
		}
		if err != nil {
			if c.ctx.Err() != nil {
				return // the call ended while the verb ran
			}
			c.endWithError(err)
			return
		}
		switch out.Kind {
		case bxml.OutcomeCallback:
			doc, err = c.fetch(out.Target, out.Event)
			if err != nil {
				c.endWithError(err)
				return
			}
		case bxml.OutcomeForwarded:
			c.end(bxml.CauseHangup, "")
			return
		default: // OutcomeEnd, OutcomeHangup
			c.end(bxml.CauseHangup, "")
			return
		}
	}
}

// endWithError ends the call with the cause an error maps to. An error that
// only says the call's context ended is not the cause: whatever ended the
// context recorded it, or finish reads it from the SIP leg.
func (c *Call) endWithError(err error) {
	if c.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	switch cause := callflow.Cause(err); {
	case errors.Is(err, callflow.ErrModuleFailed):
		c.end(bxml.CauseApplicationError, err.Error()) // the source logged it
	case errors.Is(err, media.ErrTTSUnavailable):
		c.logf(slog.LevelError, "media", "%v", err)
		c.end(bxml.CauseApplicationError, "SpeakSentence needs text-to-speech, which this node does not have (install espeak-ng)")
	case cause == bxml.CauseInvalidBXML || cause == bxml.CauseCallbackError:
		c.logf(slog.LevelError, "callback", "%v", err)
		c.end(cause, err.Error())
	default:
		c.logf(slog.LevelError, "engine", "%v", err)
		c.end(bxml.CauseError, err.Error())
	}
}

// request is a callback of this call: ev, completed with the call's state,
// to t, relative to the running document.
func (c *Call) request(t bxml.Target, ev bxml.Event) callflow.Request {
	info := c.snapshotInfo()
	ev.Fill(&info)
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	if t.Timeout == 0 {
		t.Timeout = c.cbTimeout
	}
	return callflow.Request{Event: ev, Target: t, Base: base, Call: c}
}

// fetch sends ev to t and returns the BXML answer (nil for none).
func (c *Call) fetch(t bxml.Target, ev bxml.Event) (*bxml.Document, error) {
	if c.onEvent != nil {
		return c.onEvent(c.ctx, ev)
	}
	reply, err := c.e.source.Fetch(c.ctx, c.request(t, ev))
	if err != nil {
		return nil, err
	}
	if reply.URL != "" {
		c.mu.Lock()
		c.base = reply.URL
		c.mu.Unlock()
		c.logf(slog.LevelDebug, "callback", "%s answered by %s", ev.Type(), reply.URL)
	}
	return reply.Doc, nil
}

// notify sends an event whose answer is ignored, in its own goroutine so a
// slow backend never holds the call; the engine's wait group owns it.
func (c *Call) notify(t bxml.Target, ev bxml.Event) {
	c.e.deliver(c.request(t, ev), c)
}

// deliver sends a notification from a goroutine the engine's wait group
// owns; a failure goes to c's log.
func (e *Engine) deliver(req callflow.Request, c *Call) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.source.Fetch(ctx, req); err != nil {
			c.logf(slog.LevelWarn, "callback", "%s: %v", req.Event.Type(), err)
		}
	}()
}
