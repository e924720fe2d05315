package calls

import (
	"context"
	"log/slog"
	"time"

	"github.com/wasmvoice/wasmvoice/sip"
)

// Trunk failover: a route may name the servers its calls try in order
// (DialTarget.Alternates); which failures move on is the route's decision
// (DialTarget.Failover), and an attempt that gets no response at all within
// AttemptTimeout is abandoned as ErrTrunkTimeout.

// ErrTrunkTimeout is an attempt abandoned because the server sent no
// response at all (not even 100 Trying) within the route's attempt timeout.
var ErrTrunkTimeout = sip.ErrNoResponse

// dialAttempts sends the INVITE to tgt, then to each of its alternates
// while the failure is one tgt.Failover accepts. It returns the answered
// leg and the target that answered, or the last attempt's error and
// target.
func (c *Call) dialAttempts(ctx context.Context, tgt DialTarget, r sip.DialRequest) (OutboundLeg, DialTarget, error) {
	targets := append([]DialTarget{tgt}, tgt.Alternates...)
	var err error
	var t DialTarget
	for i := range targets {
		t = targets[i]
		r.URI = t.URI
		if t.Username != "" || i == 0 {
			r.Username, r.Password = t.Username, t.Password
		}
		var out OutboundLeg
		out, err = c.dialAttempt(ctx, r, tgt.AttemptTimeout)
		if tgt.Observe != nil {
			tgt.Observe(t.URI, err)
		}
		if err == nil {
			return out, t, nil
		}
		if i == len(targets)-1 || tgt.Failover == nil || ctx.Err() != nil || !tgt.Failover(err) {
			break
		}
		c.logf(slog.LevelWarn, "engine", "trunk failover: %s failed (%v); trying %s", t.URI, err, targets[i+1].URI)
	}
	return nil, t, err
}

// dialAttempt is one INVITE; with a timeout, it is abandoned when no
// response at all came within it.
func (c *Call) dialAttempt(ctx context.Context, r sip.DialRequest, timeout time.Duration) (OutboundLeg, error) {
	r.NoResponseTimeout = timeout
	return c.e.dialer.Dial(ctx, r)
}
