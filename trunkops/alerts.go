package trunkops

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/store"
)

// Trunk alerts (PATCH /v1/sip/config alerts): thresholds on what the
// health probes see (an endpoint unreachable for unreachable_seconds, a
// response time over response_time_ms) and on outbound calls (the share of
// attempts the trunk failed, over the last hour, at least
// failure_rate_min_calls of them). Crossing a threshold fires the alert
// once, going back under clears it; both are logged and POSTed to the
// settings' webhook_url.

// Alert types.
const (
	AlertUnreachable  = "unreachable"
	AlertResponseTime = "response_time"
	AlertFailureRate  = "failure_rate"
)

const (
	failureWindow          = time.Hour
	maxAttemptsKept        = 200
	defaultFailureMinCalls = 5
)

// AlertEvent is the JSON an alert webhook receives.
type AlertEvent struct {
	Event       string  `json:"event"` // trunk.alert
	AlertType   string  `json:"alert_type"`
	State       string  `json:"state"` // fired or cleared
	PhoneNumber *string `json:"phone_number"`
	TrunkID     *string `json:"trunk_id"`
	Endpoint    *string `json:"endpoint"`
	Value       float64 `json:"value"`
	Threshold   float64 `json:"threshold"`
	Unit        string  `json:"unit"` // seconds, ms, percent
	At          string  `json:"at"`
}

// Alerts watches thresholds and notifies when they are crossed.
type Alerts struct {
	store  *store.Store
	health *Health
	notify *Notifier
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	fired    map[string]bool
	attempts map[string][]attempt // account|number → recent outbound attempts
}

type attempt struct {
	at     time.Time
	failed bool
}

// NewAlerts returns the node's alert watcher over h's probe results.
func NewAlerts(st *store.Store, h *Health, n *Notifier, log *slog.Logger) *Alerts {
	if log == nil {
		log = slog.Default()
	}
	return &Alerts{store: st, health: h, notify: n, log: log.With("component", "trunkAlerts"), now: time.Now,
		fired: map[string]bool{}, attempts: map[string][]attempt{}}
}

// Evaluate checks the probe thresholds of every configured alert (after
// each health sweep).
func (a *Alerts) Evaluate(ctx context.Context) {
	all, err := a.store.AllTrunkSettings(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("read trunk settings", "error", err)
		}
		return
	}
	now := a.now()
	for _, ts := range all {
		al := ts.Alerts
		if al == nil || (al.UnreachableSeconds <= 0 && al.ResponseTimeMS <= 0) {
			continue
		}
		for _, ep := range a.endpoints(ctx, ts) {
			base := alertBase(ts, ep)
			if al.UnreachableSeconds > 0 {
				since, down := a.health.downSince(ep)
				var secs float64
				if down {
					secs = math.Round(now.Sub(since).Seconds()*10) / 10
				}
				a.set(base, AlertUnreachable, "seconds", down && secs >= float64(al.UnreachableSeconds), secs, float64(al.UnreachableSeconds), al.WebhookURL, now)
			}
			if al.ResponseTimeMS > 0 {
				if r, ok := a.health.report(ep, time.Time{}); ok && r.Status == Healthy {
					ms := float64(r.ResponseTime.Microseconds()) / 1000
					a.set(base, AlertResponseTime, "ms", ms > float64(al.ResponseTimeMS), ms, float64(al.ResponseTimeMS), al.WebhookURL, now)
				}
			}
		}
	}
}

// endpoints are the servers a settings row's alerts watch: the number's
// outbound endpoint (or the trunk's) and its failover servers.
func (a *Alerts) endpoints(ctx context.Context, ts store.TrunkSettings) []string {
	var r store.SIPRoute
	switch ts.Scope {
	case store.ScopeNumber:
		route, err := a.store.OutboundSIPRoute(ctx, ts.AccountID, ts.ScopeID)
		if err == nil {
			r = route
		}
	case store.ScopeTrunk:
		tr, err := a.store.SIPTrunk(ctx, ts.AccountID, ts.ScopeID)
		if err == nil {
			r = store.ResolveSIPRoute(store.SIPConfiguration{AccountID: ts.AccountID, Direction: headermap.Outbound, TrunkID: tr.ID}, &tr)
		}
	}
	var eps []string
	if r.HasDestination {
		eps = append(eps, endpointURI(r))
	}
	if f := ts.Failover; f != nil && f.Enabled {
		for _, u := range failoverServers(r, f) {
			if !slices.Contains(eps, u) {
				eps = append(eps, u)
			}
		}
	}
	return eps
}

// alertBase is an event with the settings' number or trunk and endpoint.
func alertBase(ts store.TrunkSettings, endpoint string) AlertEvent {
	e := AlertEvent{Event: "trunk.alert"}
	id := ts.ScopeID
	if ts.Scope == store.ScopeTrunk {
		e.TrunkID = &id
	} else {
		e.PhoneNumber = &id
	}
	if endpoint != "" {
		e.Endpoint = &endpoint
	}
	return e
}

// RecordAttempt counts an outbound attempt of an account's number (on
// trunk) and checks the failure rate threshold of al (nil: none).
func (a *Alerts) RecordAttempt(accountID, number, trunkID string, al *store.AlertSettings, failed bool) {
	now := a.now()
	key := accountID + "|" + number
	a.mu.Lock()
	as := append(a.attempts[key], attempt{at: now, failed: failed})
	for len(as) > 0 && (now.Sub(as[0].at) > failureWindow || len(as) > maxAttemptsKept) {
		as = as[1:]
	}
	a.attempts[key] = as
	var fails int
	for _, x := range as {
		if x.failed {
			fails++
		}
	}
	n := len(as)
	a.mu.Unlock()
	if al == nil || al.FailureRatePercent <= 0 {
		return
	}
	minCalls := al.FailureRateMinCalls
	if minCalls <= 0 {
		minCalls = defaultFailureMinCalls
	}
	if n < minCalls {
		return
	}
	rate := math.Round(1000*float64(fails)/float64(n)) / 10
	base := alertBase(store.TrunkSettings{Scope: store.ScopeNumber, ScopeID: number}, "")
	if trunkID != "" {
		base.TrunkID = &trunkID
	}
	a.set(base, AlertFailureRate, "percent", rate >= al.FailureRatePercent, rate, al.FailureRatePercent, al.WebhookURL, now)
}

// set fires or clears one alert when its condition changed.
func (a *Alerts) set(e AlertEvent, typ, unit string, cond bool, value, threshold float64, url string, now time.Time) {
	key := typ + "|" + deref(e.PhoneNumber) + "|" + deref(e.TrunkID) + "|" + deref(e.Endpoint)
	a.mu.Lock()
	was := a.fired[key]
	if cond == was {
		a.mu.Unlock()
		return
	}
	if cond {
		a.fired[key] = true
	} else {
		delete(a.fired, key)
	}
	a.mu.Unlock()
	e.AlertType, e.Unit, e.Value, e.Threshold, e.At = typ, unit, value, threshold, now.UTC().Format(time.RFC3339Nano)
	e.State = "cleared"
	level := slog.LevelInfo
	if cond {
		e.State, level = "fired", slog.LevelWarn
	}
	a.log.Log(context.Background(), level, "trunk alert "+e.State, "type", typ, "phoneNumber", deref(e.PhoneNumber),
		"trunkId", deref(e.TrunkID), "endpoint", deref(e.Endpoint), "value", value, "threshold", threshold, "unit", unit)
	if a.notify != nil {
		a.notify.Send(url, "alert", e)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
