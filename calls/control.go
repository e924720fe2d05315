package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// What the Voice API does to live calls.

// ErrNotLive is returned for a call that is not up on this node.
var ErrNotLive = errors.New("call is not active")

// LiveCall is the state of a live call of the account.
func (e *Engine) LiveCall(accountID, id string) (store.CallRecord, bool) {
	c, ok := e.Call(accountID, id)
	if !ok {
		return store.CallRecord{}, false
	}
	return c.Snapshot(), true
}

// LiveCallLog is a live call's log and SIP trace so far.
func (e *Engine) LiveCallLog(accountID, id string) ([]store.LogEntry, []store.SIPMessage, bool) {
	c, ok := e.Call(accountID, id)
	if !ok {
		return nil, nil, false
	}
	logs, trace := c.logAndTrace()
	return logs, trace, true
}

// HangupCall ends a live call (BYE, CANCEL or reject, as fits its state).
func (e *Engine) HangupCall(accountID, id string) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, ErrNotLive)
	}
	c.mu.Lock()
	ringing := c.info.Direction == "outbound" && !c.answered
	c.mu.Unlock()
	if ringing {
		// Bandwidth cancels an outbound call that has not been answered
		// yet, and its disconnect says so.
		c.logf(slog.LevelInfo, "api", "cancel requested while ringing")
		c.end(bxml.CauseCancel, "")
		return nil
	}
	c.logf(slog.LevelInfo, "api", "hangup requested")
	c.end(bxml.CauseHangup, "")
	return nil
}

// SetCallTag sets the tag the call's later callbacks carry ("" clears it),
// as updateCall's tag does.
func (e *Engine) SetCallTag(accountID, id, tag string) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, ErrNotLive)
	}
	c.mu.Lock()
	c.info.Tag = tag
	c.mu.Unlock()
	return nil
}

// QueuedCalls is how many of the account's outbound calls have been placed
// and not answered yet: the engine dials every call at once, so these are
// the calls waiting on their callee, what getStatistics reports as its
// currentCallQueueSize.
func (e *Engine) QueuedCalls(accountID string) int {
	n := 0
	for _, r := range e.LiveCalls(accountID) {
		if r.Direction == "outbound" && r.ParentCallID == "" && r.State == stateInitiated {
			n++
		}
	}
	return n
}

// AccountCallCap is the most concurrent calls an account may have (0: no
// cap): past it createCall is refused with ErrCapacity.
func (e *Engine) AccountCallCap() int { return e.limits.PerAccount }

// RedirectCall interrupts the call's BXML and runs what t answers to a
// redirect event.
func (e *Engine) RedirectCall(accountID, id string, t bxml.Target) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, ErrNotLive)
	}
	return c.redirectErr(c.Redirect(func(context.Context) (*bxml.Document, error) {
		c.logf(slog.LevelInfo, "api", "redirect to %s", t.URL)
		return c.fetch(t, &bxml.RedirectEvent{})
	}))
}

// ReplaceCallBXML interrupts the call's BXML and runs doc instead.
func (e *Engine) ReplaceCallBXML(accountID, id string, doc *bxml.Document) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, ErrNotLive)
	}
	return c.redirectErr(c.Redirect(func(context.Context) (*bxml.Document, error) {
		c.logf(slog.LevelInfo, "api", "BXML replaced")
		return doc, nil
	}))
}

func (c *Call) redirectErr(err error) error {
	switch {
	case errors.Is(err, ErrCallEnded):
		return fmt.Errorf("call %s: %w", c.id, ErrNotLive)
	case errors.Is(err, ErrBusy):
		return fmt.Errorf("call %s: %w", c.id, ErrBusy)
	}
	return err
}
