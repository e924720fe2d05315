package calls

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// sipEndCause is the cause the call's SIP leg gives once it has ended, or "".
func (c *Call) sipEndCause() string {
	var r sip.EndReason
	if c.sipIn != nil {
		r = c.sipIn.EndReason()
	} else if c.sipOut != nil {
		r = c.sipOut.EndReason()
	}
	if r == "" {
		return ""
	}
	return causeFor(r)
}

func causeFor(r sip.EndReason) string {
	switch r {
	case sip.EndCanceled:
		return bxml.CauseCancel
	case sip.EndTimeout:
		return bxml.CauseTimeout
	case sip.EndFailed:
		return bxml.CauseError
	}
	return bxml.CauseHangup
}

// finish hangs up what is still up, tells the application, and writes the
// call record with its SIP trace and log.
func (c *Call) finish() {
	// The SIP side may have ended the call (CANCEL, BYE) before the goroutine
	// watching it ran; its reason comes before the default.
	if cause := c.sipEndCause(); cause != "" {
		c.end(cause, "")
	}
	c.end(bxml.CauseHangup, "")
	c.stopBackground()
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	answered, cause := c.answered, c.cause
	c.mu.Unlock()
	if in := c.sipIn; in != nil {
		select {
		case <-in.Done():
			if !answered && in.EndReason() == sip.EndCanceled {
				c.setSIPStatus(487, "Request Terminated")
			}
		default:
			if answered {
				in.Hangup(hctx)
			} else {
				status, reason := rejectStatus(cause)
				in.Reject(status, reason)
				c.setSIPStatus(status, reason)
			}
		}
		if answered {
			c.setSIPStatus(200, "OK")
		}
	}
	if out := c.sipOut; out != nil {
		select {
		case <-out.Done():
		default:
			out.Hangup(hctx)
		}
	}
	if c.ownSess && c.sess != nil {
		c.sess.Close()
	} else if c.leg != nil {
		c.leg.Close()
	}
	c.mu.Lock()
	c.state = stateDisconnected
	c.info.EndTime = time.Now().UTC()
	c.mu.Unlock()
	rec := c.Snapshot()
	callsEnded.WithLabelValues(rec.Direction, rec.DisconnectCause).Inc()
	if rec.ErrorMessage != "" {
		c.logf(slog.LevelInfo, "engine", "call ended: %s (%s)", rec.DisconnectCause, rec.ErrorMessage)
	} else {
		c.logf(slog.LevelInfo, "engine", "call ended: %s", rec.DisconnectCause)
	}
	// Saved before the disconnect callback goes out, so an application
	// that reads the call's state or log when it gets the callback finds it.
	c.persist(rec)
	c.sendDisconnect(rec)
}

// setSIPStatus records the final response of the call's INVITE.
func (c *Call) setSIPStatus(status int, reason string) {
	c.mu.Lock()
	c.sipRoute.Status, c.sipRoute.Reason = status, reason
	c.mu.Unlock()
}

// noteDialFailure records the route and the final response (if one came)
// of the failed dial of the call's own leg.
func (c *Call) noteDialFailure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var le *legError
	if errors.As(err, &le) {
		c.sipRoute = le.route
	}
	var de *sip.DialError
	if errors.As(err, &de) {
		c.sipRoute.Status, c.sipRoute.Reason = de.Status, de.Reason
	}
}

func rejectStatus(cause string) (int, string) {
	switch cause {
	case bxml.CauseHangup:
		return 603, "Decline"
	case bxml.CauseRejected:
		return 488, "Not Acceptable Here"
	case bxml.CauseNodeCapacityExceeded:
		return 503, "Service Unavailable"
	case bxml.CauseCancel:
		return 487, "Request Terminated"
	}
	return 500, "Server Internal Error"
}

func (c *Call) sendDisconnect(rec store.CallRecord) {
	ev := &bxml.DisconnectEvent{Cause: rec.DisconnectCause, ErrorMessage: rec.ErrorMessage}
	c.notify(c.statusTarget(), ev)
}

func (c *Call) persist(rec store.CallRecord) {
	c.e.publishCall(rec)
	logs, trace := c.logAndTrace()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.SaveCall(ctx, rec, trace, logs); err != nil {
		c.log.Error("save call record", "error", err)
	}
}

// logAndTrace are the call's log and SIP trace so far.
func (c *Call) logAndTrace() ([]store.LogEntry, []store.SIPMessage) {
	trace := c.traceMessages()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]store.LogEntry(nil), c.logs...), trace
}

// traceMessages is the call's SIP trace so far, as the store keeps it.
func (c *Call) traceMessages() []store.SIPMessage {
	var trace []store.SIPMessage
	if tr := c.trace(); tr != nil {
		for _, e := range tr.Entries() {
			trace = append(trace, store.SIPMessage{At: e.Time, Direction: string(e.Direction), Transport: e.Transport,
				LocalAddr: e.Local, RemoteAddr: e.Remote, Message: e.Message})
		}
	}
	return trace
}

func (c *Call) trace() *sip.Trace {
	if c.sipIn != nil {
		return c.sipIn.Trace()
	}
	if c.sipOut != nil {
		return c.sipOut.Trace()
	}
	return c.dialTrace
}
