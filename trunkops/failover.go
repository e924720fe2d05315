package trunkops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// Trunk failover (PATCH /v1/sip/config): an outbound route may list a
// primary, secondary and tertiary server. A call tries them in order,
// moving on when an attempt fails with one of the configured triggers
// (unreachable: no route to the server or a 5xx; auth_failure: 401, 403,
// 407; timeout: no response at all within timeout_seconds), and a server
// the health probes find unreachable goes last when the unreachable trigger
// is on. Failback auto starts every call at the primary again once its
// probes answer; manual stays on the server that last answered until the
// configuration is PATCHed again.

// DefaultFailoverTimeout is how long an attempt may go without any
// response before the timeout trigger moves on.
const DefaultFailoverTimeout = 5 * time.Second

// failoverState keeps the server manual failback sticks to, per number.
type failoverState struct {
	mu     sync.Mutex
	active map[string]string // account|number → server URI (no user part)
}

func failoverKey(accountID, number string) string { return accountID + "|" + number }

// ResetFailover forgets where manual failback stuck for an account's
// number ("" for all its numbers): its configuration changed.
func (t *Trunks) ResetFailover(accountID, number string) {
	t.failover.mu.Lock()
	defer t.failover.mu.Unlock()
	for k := range t.failover.active {
		if k == failoverKey(accountID, number) || (number == "" && len(k) > len(accountID) && k[:len(accountID)+1] == accountID+"|") {
			delete(t.failover.active, k)
		}
	}
}

// UseHealth lets routes skip servers the probes find unreachable, and
// alerts count call outcomes; set both before calls are placed.
func (t *Trunks) UseHealth(h *Health, a *Alerts) { t.health, t.alerts = h, a }

// applySettings adds the route's failover servers, codec order and outcome
// reporting to its dial target.
func (t *Trunks) applySettings(ctx context.Context, r store.SIPRoute, tgt *calls.DialTarget, number string) error {
	acct, num, trunk := r.Configuration.AccountID, r.Configuration.PhoneNumber, r.Configuration.TrunkID
	ts, err := t.store.EffectiveTrunkSettings(ctx, acct, num, trunk)
	if err != nil {
		return fmt.Errorf("trunk settings of %s: %w", num, err)
	}
	if ts.Codecs != nil {
		codecs := ts.Codecs.Codecs
		tgt.Offer = func(sdp []byte) []byte { return ReorderCodecs(sdp, codecs) }
		tgt.NoTranscode = !ts.Codecs.Transcoding
	}
	var servers []string // endpoint URIs, no user part
	if f := ts.Failover; f != nil && f.Enabled {
		servers = failoverServers(r, f)
	}
	alerts := t.alerts
	observe := func(uri string, err error) {
		if alerts != nil {
			alerts.RecordAttempt(acct, num, trunk, ts.Alerts, trunkFailure(err) != "")
		}
	}
	tgt.Observe = observe
	if len(servers) < 2 {
		return nil
	}
	f := ts.Failover
	key := failoverKey(acct, num)
	order := t.serverOrder(servers, f, key)
	targets := make([]calls.DialTarget, 0, len(order))
	for _, s := range order {
		d, err := sipdest.Parse(s)
		if err != nil {
			continue // validated when stored; a bad row fails that server only
		}
		d.User = number
		tt := *tgt
		tt.URI, tt.Alternates = d.URI(), nil
		targets = append(targets, tt)
	}
	if len(targets) == 0 {
		return nil
	}
	byURI := map[string]string{}
	for i, s := range order {
		if i < len(targets) {
			byURI[targets[i].URI] = s
		}
	}
	primary := targets[0]
	primary.Alternates = targets[1:]
	primary.Failover = func(err error) bool { return slices.Contains(f.Triggers, trunkFailure(err)) }
	if slices.Contains(f.Triggers, store.TriggerTimeout) {
		primary.AttemptTimeout = time.Duration(f.TimeoutSeconds) * time.Second
		if primary.AttemptTimeout <= 0 {
			primary.AttemptTimeout = DefaultFailoverTimeout
		}
	}
	primary.Observe = func(uri string, err error) {
		observe(uri, err)
		if err == nil && f.Failback == store.FailbackManual {
			t.failover.mu.Lock()
			if prev := t.failover.active[key]; prev != byURI[uri] {
				t.failover.active[key] = byURI[uri]
				t.log.Info("trunk failover: manual failback stays on this server until the configuration changes", "number", num, "server", byURI[uri])
			}
			t.failover.mu.Unlock()
		}
	}
	*tgt = primary
	return nil
}

// failoverServers are a route's servers in configured order, as endpoint
// URIs without a user part; the primary defaults to the route's endpoint.
func failoverServers(r store.SIPRoute, f *store.FailoverSettings) []string {
	var out []string
	primary := f.Primary
	if primary == "" && r.HasDestination {
		primary = endpointURI(r)
	}
	for _, s := range []string{primary, f.Secondary, f.Tertiary} {
		if s == "" {
			continue
		}
		d, err := sipdest.Parse(s)
		if err != nil {
			continue
		}
		d.User = ""
		if u := d.URI(); !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// serverOrder is the order a call tries servers in: from the one manual
// failback stuck to (auto: the primary), round the list; servers the
// probes find unreachable go last when that trigger is on.
func (t *Trunks) serverOrder(servers []string, f *store.FailoverSettings, key string) []string {
	start := 0
	if f.Failback == store.FailbackManual {
		t.failover.mu.Lock()
		if i := slices.Index(servers, t.failover.active[key]); i > 0 {
			start = i
		}
		t.failover.mu.Unlock()
	}
	order := append(slices.Clone(servers[start:]), servers[:start]...)
	if t.health == nil || !slices.Contains(f.Triggers, store.TriggerUnreachable) {
		return order
	}
	var up, down []string
	for _, s := range order {
		if r, ok := t.health.report(s, time.Time{}); ok && r.Status == Unreachable {
			down = append(down, s)
		} else {
			up = append(up, s)
		}
	}
	if len(down) > 0 && len(up) > 0 && down[0] == order[0] {
		t.log.Info("trunk failover: the primary is unreachable by its probes; the call starts at the next server", "skipped", down[0], "server", up[0])
	}
	return append(up, down...)
}

// trunkFailure names the failover trigger a failed attempt is, "" for a
// failure that says nothing against the server (busy, declined, not
// found, or the call itself cancelled).
func trunkFailure(err error) string {
	if err == nil || errors.Is(err, context.Canceled) && !errors.Is(err, calls.ErrTrunkTimeout) {
		return ""
	}
	if errors.Is(err, calls.ErrTrunkTimeout) {
		return store.TriggerTimeout
	}
	var de *sip.DialError
	if errors.As(err, &de) {
		switch de.Status {
		case 401, 403, 407:
			return store.TriggerAuthFailure
		case 408:
			return store.TriggerTimeout
		case 500, 502, 503, 504:
			return store.TriggerUnreachable
		}
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "" // the call's ring timeout: nobody answered
	}
	return store.TriggerUnreachable // transport errors: refused, no route, transaction timeout
}
