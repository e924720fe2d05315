// Package guard decides which sources the node still answers: a per-source
// request budget (past it, the source is dropped silently for a ban period,
// as Kamailio's pike module does), a much smaller budget for failed
// authentications per source, and a back-off for each target (application,
// phone number, API client) that keeps failing. Trusted sources are never
// counted or banned. It is pure logic with a clock: the SIP transports and
// the HTTP API call it; it opens no socket.
package guard

import (
	"context"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time; tests use a fake one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Defaults, for a node on the internet serving softphones, PBXes and trunks
// (trunks' addresses are trusted, so their volume never counts).
const (
	DefaultFloodLimit    = 400 // requests per FloodWindow from one source
	DefaultFloodWindow   = 2 * time.Second
	DefaultAuthLimit     = 10 // failed authentications per AuthWindow from one source
	DefaultAuthWindow    = time.Minute
	DefaultTargetLimit   = 30 // failed authentications per AuthWindow against one target
	DefaultTargetLock    = time.Second
	DefaultTargetLockMax = 5 * time.Minute
	DefaultBanTime       = 10 * time.Minute
	DefaultMaxTracked    = 100_000
)

// Config sets a Guard's budgets. Zero values take the defaults; a negative
// limit turns that check off.
type Config struct {
	// Zone names what the guard protects ("sip", "http") in metrics and
	// ban listings.
	Zone string
	// A source sending more than FloodLimit requests within FloodWindow is
	// banned for BanTime.
	FloodLimit  int
	FloodWindow time.Duration
	// A source failing authentication more than AuthLimit times within
	// AuthWindow is banned for BanTime.
	AuthLimit  int
	AuthWindow time.Duration
	// A target failing more than TargetLimit times within AuthWindow (from
	// any sources) refuses authentication for TargetLock, doubling with
	// each further lock up to TargetLockMax.
	TargetLimit               int
	TargetLock, TargetLockMax time.Duration
	BanTime                   time.Duration
	// Trusted sources are never counted, locked out or banned.
	Trusted []netip.Prefix
	// MaxTracked bounds the sources and targets followed at once (spoofed
	// UDP sources cannot grow the tables without limit); past it new ones
	// are not counted until old ones expire.
	MaxTracked int
	Clock      Clock
	// Logger, when set, gets a line per ban (at most 20 a second: spoofed
	// UDP sources can make many).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.FloodLimit, DefaultFloodLimit)
	def(&c.AuthLimit, DefaultAuthLimit)
	def(&c.TargetLimit, DefaultTargetLimit)
	def(&c.MaxTracked, DefaultMaxTracked)
	defDur(&c.FloodWindow, DefaultFloodWindow)
	defDur(&c.AuthWindow, DefaultAuthWindow)
	defDur(&c.TargetLock, DefaultTargetLock)
	defDur(&c.TargetLockMax, DefaultTargetLockMax)
	defDur(&c.BanTime, DefaultBanTime)
	if c.Clock == nil {
		c.Clock = realClock{}
	}
}

// Reasons a source is banned or a request dropped (metrics labels).
const (
	ReasonFlood   = "flood"
	ReasonAuth    = "auth"
	ReasonManual  = "manual"
	ReasonScanner = "scanner"
	ReasonBanned  = "banned"
)

// shards spread the sources over locks, so the per-request check of one
// source never waits for another's.
const shards = 64

// Guard keeps the counters of one zone. It is safe for concurrent use.
type Guard struct {
	cfg     Config
	trusted atomic.Pointer[[]netip.Prefix]
	tracked atomic.Int64 // sources and targets followed

	sources [shards]struct {
		mu sync.Mutex
		m  map[netip.Addr]*source
	}
	tmu     sync.Mutex
	targets map[string]*target
	banLogs *Sampler
}

// source is what the guard knows of one address.
type source struct {
	flood       window
	auth        window
	bannedUntil time.Time
	bannedAt    time.Time
	banReason   string
	dropped     int64 // requests dropped while banned
}

// target is an application, number or client being authenticated against.
type target struct {
	fails       window
	lockedUntil time.Time
	lock        time.Duration // the next lock's length
}

// window counts events in a sliding window, estimated from the count of the
// current fixed window and the previous one (the way nginx and Cloudflare
// rate-limit): constant memory, one comparison per event.
type window struct {
	start      time.Time
	count      int
	prev       int
	lastUpdate time.Time
}

// add counts one event at now and returns the estimated count in the last
// span.
func (w *window) add(now time.Time, span time.Duration) int {
	w.roll(now, span)
	w.count++
	w.lastUpdate = now
	elapsed := now.Sub(w.start)
	weight := 1 - float64(elapsed)/float64(span)
	return w.count + int(float64(w.prev)*weight)
}

func (w *window) roll(now time.Time, span time.Duration) {
	if w.start.IsZero() {
		w.start = now
		return
	}
	switch d := now.Sub(w.start); {
	case d < span:
	case d < 2*span:
		w.prev, w.count = w.count, 0
		w.start = w.start.Add(span)
	default:
		w.prev, w.count = 0, 0
		w.start = now
	}
}

// idle reports whether the window has counted nothing for two spans.
func (w *window) idle(now time.Time, span time.Duration) bool {
	return now.Sub(w.lastUpdate) >= 2*span
}

// New returns a guard with cfg's budgets.
func New(cfg Config) *Guard {
	cfg.defaults()
	g := &Guard{cfg: cfg, targets: map[string]*target{}, banLogs: NewSampler(20, time.Second)}
	for i := range g.sources {
		g.sources[i].m = map[netip.Addr]*source{}
	}
	g.SetTrusted(cfg.Trusted)
	return g
}

// Zone is the guard's zone name.
func (g *Guard) Zone() string { return g.cfg.Zone }

// SetTrusted replaces the trusted prefixes (the configured ones and the
// addresses of SIP trunks, which change as numbers are attached).
func (g *Guard) SetTrusted(ps []netip.Prefix) {
	cp := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		cp = append(cp, p.Masked())
	}
	g.trusted.Store(&cp)
}

// Trusted reports whether a is a trusted source.
func (g *Guard) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range *g.trusted.Load() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (g *Guard) shard(a netip.Addr) *struct {
	mu sync.Mutex
	m  map[netip.Addr]*source
} {
	b := a.As16()
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return &g.sources[h%shards]
}

// lookup returns a's entry, creating it unless the guard tracks too many
// sources already (then nil). The caller holds the shard's lock.
func (g *Guard) lookup(m map[netip.Addr]*source, a netip.Addr) *source {
	s := m[a]
	if s == nil {
		if g.tracked.Load() >= int64(g.cfg.MaxTracked) {
			trackFull.WithLabelValues(g.cfg.Zone).Inc()
			return nil
		}
		s = &source{}
		m[a] = s
		g.tracked.Add(1)
	}
	return s
}

// Allow counts one request from a and reports whether to handle it: false
// for a banned source, and for the request that takes a source past its
// flood budget (which bans it).
func (g *Guard) Allow(a netip.Addr) bool {
	a = a.Unmap()
	if g.Trusted(a) {
		return true
	}
	now := g.cfg.Clock.Now()
	sh := g.shard(a)
	sh.mu.Lock()
	s := g.lookup(sh.m, a)
	if s == nil {
		sh.mu.Unlock()
		return true
	}
	if now.Before(s.bannedUntil) {
		s.dropped++
		sh.mu.Unlock()
		drops.WithLabelValues(g.cfg.Zone, ReasonBanned).Inc()
		return false
	}
	if g.cfg.FloodLimit < 0 || s.flood.add(now, g.cfg.FloodWindow) <= g.cfg.FloodLimit {
		sh.mu.Unlock()
		return true
	}
	g.banLocked(a, s, now, ReasonFlood, g.cfg.BanTime)
	sh.mu.Unlock()
	drops.WithLabelValues(g.cfg.Zone, ReasonFlood).Inc()
	return false
}

// Banned reports whether a is banned now, without counting a request.
func (g *Guard) Banned(a netip.Addr) bool {
	a = a.Unmap()
	sh := g.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.m[a]
	return s != nil && g.cfg.Clock.Now().Before(s.bannedUntil)
}

// Drop records a request dropped for reason (say a scanner's) without
// banning its source.
func (g *Guard) Drop(reason string) { drops.WithLabelValues(g.cfg.Zone, reason).Inc() }

// banLocked bans s. The banned-sources gauge counts entries whose
// bannedUntil is set; Sweep clears it (and decrements) once it has passed.
func (g *Guard) banLocked(a netip.Addr, s *source, now time.Time, reason string, d time.Duration) {
	if s.bannedUntil.IsZero() {
		banned.WithLabelValues(g.cfg.Zone).Inc()
	}
	if !now.Before(s.bannedUntil) {
		bans.WithLabelValues(g.cfg.Zone, reason).Inc()
		if ok, n := g.banLogs.Allow(); ok && g.cfg.Logger != nil {
			g.cfg.Logger.Info("source banned", "zone", g.cfg.Zone, "source", a.String(), "reason", reason, "for", d, "suppressed", n)
		}
	}
	s.bannedAt, s.bannedUntil, s.banReason, s.dropped = now, now.Add(d), reason, 0
}

// AuthFailed records a failed authentication from a against target (an
// application ID, a phone number, an API client) and reports whether the
// source is now banned. Past the target's own budget, the target refuses
// authentication for a while (TargetLocked).
func (g *Guard) AuthFailed(a netip.Addr, target string) (banned bool) {
	a = a.Unmap()
	if g.Trusted(a) {
		return false
	}
	now := g.cfg.Clock.Now()
	authFailures.WithLabelValues(g.cfg.Zone).Inc()
	if target != "" && g.cfg.TargetLimit >= 0 {
		g.targetFailed(target, now)
	}
	if g.cfg.AuthLimit < 0 {
		return false
	}
	sh := g.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := g.lookup(sh.m, a)
	if s == nil {
		return false
	}
	if s.auth.add(now, g.cfg.AuthWindow) > g.cfg.AuthLimit {
		g.banLocked(a, s, now, ReasonAuth, g.cfg.BanTime)
		return true
	}
	return false
}

func (g *Guard) targetFailed(key string, now time.Time) {
	g.tmu.Lock()
	defer g.tmu.Unlock()
	t := g.targets[key]
	if t == nil {
		if g.tracked.Load() >= int64(g.cfg.MaxTracked) {
			trackFull.WithLabelValues(g.cfg.Zone).Inc()
			return
		}
		t = &target{lock: g.cfg.TargetLock}
		g.targets[key] = t
		g.tracked.Add(1)
	}
	if now.Before(t.lockedUntil) || t.fails.add(now, g.cfg.AuthWindow) <= g.cfg.TargetLimit {
		return
	}
	t.lockedUntil = now.Add(t.lock)
	t.lock = min(2*t.lock, g.cfg.TargetLockMax)
	t.fails = window{}
	targetLocks.WithLabelValues(g.cfg.Zone).Inc()
}

// TargetLocked reports whether target refuses authentication from a right
// now, and until when. Trusted sources are never refused.
func (g *Guard) TargetLocked(a netip.Addr, key string) (time.Time, bool) {
	if g.Trusted(a.Unmap()) {
		return time.Time{}, false
	}
	now := g.cfg.Clock.Now()
	g.tmu.Lock()
	defer g.tmu.Unlock()
	t := g.targets[key]
	if t == nil || !now.Before(t.lockedUntil) {
		return time.Time{}, false
	}
	return t.lockedUntil, true
}

// Ban bans a for d (0: the configured ban time), as an operator asks.
func (g *Guard) Ban(a netip.Addr, d time.Duration) {
	if d <= 0 {
		d = g.cfg.BanTime
	}
	a = a.Unmap()
	sh := g.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := g.lookup(sh.m, a); s != nil {
		g.banLocked(a, s, g.cfg.Clock.Now(), ReasonManual, d)
	}
}

// Unban lifts a's ban and forgets its counts; it reports whether a was
// banned.
func (g *Guard) Unban(a netip.Addr) bool {
	a = a.Unmap()
	sh := g.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.m[a]
	if s == nil {
		return false
	}
	active := g.cfg.Clock.Now().Before(s.bannedUntil)
	if !s.bannedUntil.IsZero() {
		banned.WithLabelValues(g.cfg.Zone).Dec()
	}
	delete(sh.m, a)
	g.tracked.Add(-1)
	return active
}

// Ban is a banned source as the API lists it.
type Ban struct {
	Address netip.Addr
	Zone    string
	Reason  string
	Since   time.Time
	Until   time.Time
	Dropped int64 // requests dropped since the ban
}

// Bans lists the sources banned now, longest-banned first.
func (g *Guard) Bans() []Ban {
	now := g.cfg.Clock.Now()
	var out []Ban
	for i := range g.sources {
		sh := &g.sources[i]
		sh.mu.Lock()
		for a, s := range sh.m {
			if now.Before(s.bannedUntil) {
				out = append(out, Ban{Address: a, Zone: g.cfg.Zone, Reason: s.banReason, Since: s.bannedAt, Until: s.bannedUntil, Dropped: s.dropped})
			}
		}
		sh.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].Address.Less(out[j].Address)
	})
	return out
}

// Sweep forgets sources and targets with nothing left to remember: no ban
// in force and windows idle. Run calls it every sweepEvery.
func (g *Guard) Sweep() {
	now := g.cfg.Clock.Now()
	for i := range g.sources {
		sh := &g.sources[i]
		sh.mu.Lock()
		for a, s := range sh.m {
			if now.Before(s.bannedUntil) {
				continue
			}
			if !s.bannedUntil.IsZero() {
				s.bannedUntil = time.Time{}
				banned.WithLabelValues(g.cfg.Zone).Dec()
			}
			if s.flood.idle(now, g.cfg.FloodWindow) && s.auth.idle(now, g.cfg.AuthWindow) {
				delete(sh.m, a)
				g.tracked.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
	g.tmu.Lock()
	for k, t := range g.targets {
		if !now.Before(t.lockedUntil) && t.fails.idle(now, g.cfg.AuthWindow) && now.Sub(t.lockedUntil) > g.cfg.TargetLockMax {
			delete(g.targets, k)
			g.tracked.Add(-1)
		}
	}
	g.tmu.Unlock()
}

// sweepEvery is how often Run sweeps.
const sweepEvery = 30 * time.Second

// Run sweeps the tables until ctx ends.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.Sweep()
		}
	}
}
