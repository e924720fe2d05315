package calls

import (
	"log/slog"

	"github.com/wasmvoice/wasmvoice/events"
	"github.com/wasmvoice/wasmvoice/store"
)

// Feed is where the engine reports what watchers of an account see live:
// each call as it begins, is answered and ends, and the lines of its log
// that the debugger shows. Both methods must return at once
// (an *events.Hub drops for slow subscribers and never waits).
type Feed interface {
	CallChanged(rec store.CallRecord)
	Debug(accountID string, d events.Debug)
}

// publishCall reports a call's new state.
func (e *Engine) publishCall(rec store.CallRecord) {
	if e.feed != nil {
		e.feed.CallChanged(rec)
	}
}

// publishRefusal reports an INVITE the engine refused (a concurrent-call
// cap) as the front door reports its own refusals.
func (c *Call) publishRefusal(status int, reason string, inv *Invite, msg string) {
	if c.e.feed == nil {
		return
	}
	d := events.Debug{Kind: events.DebugRefused, Status: status, Reason: reason, Method: "INVITE",
		Source: inv.Source.String(), SIPCallID: inv.CallID, ApplicationID: c.app.ID, Message: msg}
	if inv.Request != nil {
		d.RequestURI = inv.Request.Recipient.String()
	}
	c.e.feed.Debug(c.app.AccountID, d)
}

// publishLog reports a log line the debugger shows: every line of a
// module (its guest log, traps, timeouts, bad replies) and the warnings
// and errors of the rest (failed callbacks first of all).
func (c *Call) publishLog(level slog.Level, source, msg string) {
	if c.e.feed == nil || (source != "module" && level < slog.LevelWarn) {
		return
	}
	kind := events.DebugCall
	switch source {
	case "module":
		kind = events.DebugModule
	case "callback":
		kind = events.DebugWebhook
	}
	c.e.feed.Debug(c.app.AccountID, events.Debug{Kind: kind, Level: level.String(), ApplicationID: c.app.ID, CallID: c.id, Message: msg})
}
