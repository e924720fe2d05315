package trunkops

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// Trunk health: every outbound endpoint on the node gets an OPTIONS probe
// every interval, from one goroutine (Run) with a few probes in flight at a
// time; GET /v1/sip/status reads the result and probes on the spot what
// has no recent one.

// Pinger sends OPTIONS (sip.Server implements it).
type Pinger interface {
	Ping(ctx context.Context, uri string) (sip.Pong, error)
}

// Health states, as the trunking API names them.
const (
	Healthy     = "healthy"
	Unreachable = "unreachable"
	// Unchecked is a number with no outbound endpoint (inbound only):
	// nothing to probe.
	Unchecked = "unchecked"
)

const (
	// DefaultHealthInterval is how often each endpoint is probed.
	DefaultHealthInterval = 60 * time.Second
	// healthWindow is what uptime is computed over.
	healthWindow = 24 * time.Hour
	// probeTimeout bounds one probe (UDP retransmits T1, 2·T1, ... in it).
	probeTimeout = 5 * time.Second
	// maxProbes is how many probes are in flight at once.
	maxProbes = 8
)

// HealthReport is one number's trunk health.
type HealthReport struct {
	Status   string
	Endpoint string // the probed URI; "" when unchecked
	// ResponseTime is the last probe's round trip; 0 when it failed.
	ResponseTime time.Duration
	CheckedAt    time.Time // zero when unchecked
	// UptimePercent and AverageResponseTime are over the probes of the
	// last 24 hours (Probes of them).
	UptimePercent       float64
	AverageResponseTime time.Duration
	Probes              int
	LastError           string
	LastErrorAt         time.Time
}

// Health keeps the probe results of every outbound endpoint.
type Health struct {
	store    *store.Store
	ping     Pinger
	interval time.Duration
	log      *slog.Logger

	mu         sync.Mutex
	byEndpoint map[string]*endpointHealth
	// afterSweep, when set, runs after each sweep (the alerts).
	afterSweep func(ctx context.Context)
}

// AfterSweep makes f run after every sweep; set it before Run.
func (h *Health) AfterSweep(f func(ctx context.Context)) { h.afterSweep = f }

type probe struct {
	at  time.Time
	ok  bool
	rtt time.Duration
}

type endpointHealth struct {
	probes    []probe // oldest first, within healthWindow
	lastErr   string
	lastErrAt time.Time
}

// NewHealth returns a Health probing every interval (0: the default); Run
// starts the probing.
func NewHealth(st *store.Store, p Pinger, interval time.Duration, log *slog.Logger) *Health {
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	if log == nil {
		log = slog.Default()
	}
	return &Health{store: st, ping: p, interval: interval, log: log.With("component", "trunkHealth"),
		byEndpoint: map[string]*endpointHealth{}}
}

// Run probes every outbound endpoint each interval (with a fifth of jitter,
// so nodes and restarts do not synchronise) until ctx ends.
//
// The first sweep comes one interval after the start, not at it: a node
// that restarts does not fire OPTIONS at every trunk at once (a fleet
// restarting together would), and until then GET /v1/sip/status probes on
// demand.
func (h *Health) Run(ctx context.Context) {
	for {
		wait := h.interval + time.Duration(rand.Int64N(int64(h.interval/5)+1)) - h.interval/10
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		h.Sweep(ctx)
	}
}

// Sweep probes every outbound endpoint once and forgets endpoints no
// route uses any more.
func (h *Health) Sweep(ctx context.Context) {
	routes, err := h.store.OutboundSIPRoutes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("read outbound routes", "error", err)
		}
		return
	}
	uris := map[string]bool{}
	for _, r := range routes {
		uris[endpointURI(r)] = true
	}
	// Failover servers are probed too: a call skips one found unreachable.
	settings, err := h.store.AllTrunkSettings(ctx)
	if err != nil && ctx.Err() == nil {
		h.log.Warn("read trunk settings", "error", err)
	}
	for _, ts := range settings {
		if f := ts.Failover; f != nil && f.Enabled {
			for _, u := range failoverServers(store.SIPRoute{}, f) {
				uris[u] = true
			}
		}
	}
	h.mu.Lock()
	for u := range h.byEndpoint {
		if !uris[u] {
			delete(h.byEndpoint, u)
		}
	}
	h.mu.Unlock()
	sem := make(chan struct{}, maxProbes)
	var wg sync.WaitGroup
	for u := range uris {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h.probe(ctx, u)
		}()
	}
	wg.Wait()
	if h.afterSweep != nil && ctx.Err() == nil {
		h.afterSweep(ctx)
	}
}

// probe sends one OPTIONS to uri and records the outcome.
func (h *Health) probe(ctx context.Context, uri string) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	pong, err := h.ping.Ping(pctx, uri)
	if ctx.Err() != nil {
		return // shutting down: not the endpoint's fault
	}
	now := time.Now()
	p := probe{at: now, ok: err == nil, rtt: pong.RTT}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.entry(uri)
	wasUp := len(e.probes) == 0 || e.probes[len(e.probes)-1].ok
	e.probes = append(e.probes, p)
	for len(e.probes) > 0 && now.Sub(e.probes[0].at) > healthWindow {
		e.probes = e.probes[1:]
	}
	if err != nil {
		e.lastErr, e.lastErrAt = err.Error(), now
		if wasUp {
			h.log.Warn("trunk endpoint unreachable", "endpoint", uri, "error", err)
		}
	} else if !wasUp {
		h.log.Info("trunk endpoint reachable again", "endpoint", uri, "status", pong.Status, "rtt", pong.RTT)
	}
}

func (h *Health) entry(uri string) *endpointHealth {
	e := h.byEndpoint[uri]
	if e == nil {
		e = &endpointHealth{}
		h.byEndpoint[uri] = e
	}
	return e
}

// Check reports the trunk health of an account's number: unchecked when it
// has only inbound routes; a probe now when its endpoint has none within
// the interval. store.ErrNotFound when the number has no SIP routes.
func (h *Health) Check(ctx context.Context, accountID, number string) (HealthReport, error) {
	route, err := h.store.OutboundSIPRoute(ctx, accountID, number)
	if errors.Is(err, store.ErrNotFound) {
		cs, err := h.store.SIPConfigurations(ctx, accountID, number)
		if err != nil {
			return HealthReport{}, err
		}
		for _, c := range cs {
			if c.Direction == headermap.Inbound {
				return HealthReport{Status: Unchecked}, nil
			}
		}
		return HealthReport{}, store.ErrNotFound
	}
	if err != nil {
		return HealthReport{}, err
	}
	if !route.HasDestination {
		return HealthReport{Status: Unchecked}, nil
	}
	uri := endpointURI(route)
	if r, ok := h.report(uri, time.Now().Add(-h.interval)); ok {
		return r, nil
	}
	h.probe(ctx, uri)
	r, _ := h.report(uri, time.Time{})
	if ctx.Err() != nil {
		return HealthReport{}, ctx.Err()
	}
	return r, nil
}

// report summarises uri's probes; false when its last probe is older than
// since (or there is none).
func (h *Health) report(uri string, since time.Time) (HealthReport, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.byEndpoint[uri]
	if e == nil || len(e.probes) == 0 || e.probes[len(e.probes)-1].at.Before(since) {
		return HealthReport{}, false
	}
	last := e.probes[len(e.probes)-1]
	r := HealthReport{Status: Unreachable, Endpoint: uri, CheckedAt: last.at, Probes: len(e.probes),
		LastError: e.lastErr, LastErrorAt: e.lastErrAt}
	if last.ok {
		r.Status, r.ResponseTime = Healthy, last.rtt
	}
	var up int
	var total time.Duration
	for _, p := range e.probes {
		if p.ok {
			up++
			total += p.rtt
		}
	}
	r.UptimePercent = 100 * float64(up) / float64(len(e.probes))
	if up > 0 {
		r.AverageResponseTime = total / time.Duration(up)
	}
	return r, true
}

// endpointURI is what a route's probe goes to: its destination without a
// user part (OPTIONS asks the server, not a number).
func endpointURI(r store.SIPRoute) string {
	d := r.Destination
	d.User = ""
	return d.URI()
}

// downSince is when uri's current run of failed probes began; false when
// its last probe answered (or there is none).
func (h *Health) downSince(uri string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.byEndpoint[uri]
	if e == nil || len(e.probes) == 0 || e.probes[len(e.probes)-1].ok {
		return time.Time{}, false
	}
	i := len(e.probes) - 1
	for i > 0 && !e.probes[i-1].ok {
		i--
	}
	return e.probes[i].at, true
}
