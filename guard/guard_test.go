package guard

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(cfg Config) (*Guard, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg.Clock = clk
	cfg.Zone = "test"
	return New(cfg), clk
}

var (
	attacker = netip.MustParseAddr("203.0.113.7")
	caller   = netip.MustParseAddr("198.51.100.20")
	trunk    = netip.MustParseAddr("192.0.2.10")
)

// A source past its request budget is banned and dropped until the ban ends;
// another source keeps its own budget.
func TestFloodBansTheSource(t *testing.T) {
	g, clk := newTest(Config{FloodLimit: 10, FloodWindow: time.Second, BanTime: time.Minute})
	for i := range 10 {
		if !g.Allow(attacker) {
			t.Fatalf("request %d dropped within the budget", i+1)
		}
	}
	if g.Allow(attacker) {
		t.Fatal("request past the budget allowed")
	}
	if !g.Allow(caller) {
		t.Fatal("another source dropped")
	}
	clk.Add(30 * time.Second)
	if g.Allow(attacker) || !g.Banned(attacker) {
		t.Fatal("banned source answered during its ban")
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Address != attacker || bans[0].Reason != ReasonFlood || bans[0].Dropped != 1 || bans[0].Zone != "test" {
		t.Fatalf("bans %+v", bans)
	}
	clk.Add(31 * time.Second)
	if !g.Allow(attacker) {
		t.Fatal("still dropped after the ban")
	}
}

// A steady rate under the budget is never banned, however long it lasts:
// the sliding window does not double-count at window edges.
func TestSteadyRateUnderBudget(t *testing.T) {
	g, clk := newTest(Config{FloodLimit: 100, FloodWindow: 2 * time.Second})
	for i := range 10_000 {
		if !g.Allow(caller) {
			t.Fatalf("dropped at request %d of a steady 40/s", i)
		}
		clk.Add(25 * time.Millisecond) // 80 per window
	}
}

func TestTrustedNeverBanned(t *testing.T) {
	g, _ := newTest(Config{FloodLimit: 2, AuthLimit: 1, Trusted: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for range 100 {
		if !g.Allow(trunk) {
			t.Fatal("trusted source dropped")
		}
		g.AuthFailed(trunk, "app")
	}
	if g.Banned(trunk) {
		t.Fatal("trusted source banned")
	}
	if _, locked := g.TargetLocked(trunk, "app"); locked {
		t.Fatal("target locked for a trusted source")
	}
	// The list can change at run time (trunks attached).
	g.SetTrusted(nil)
	allowed := 0
	for range 3 {
		if g.Allow(trunk) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d of 3 requests allowed with a budget of 2", allowed)
	}
}

// Failed authentications have their own, smaller budget; a target that
// keeps failing refuses authentication for a growing while.
func TestAuthFailures(t *testing.T) {
	g, clk := newTest(Config{AuthLimit: 3, AuthWindow: time.Minute, TargetLimit: 5, TargetLock: time.Second, TargetLockMax: 4 * time.Second})
	for i := range 3 {
		if g.AuthFailed(attacker, "app-1") {
			t.Fatalf("banned after %d failures", i+1)
		}
	}
	if !g.AuthFailed(attacker, "app-1") || !g.Banned(attacker) {
		t.Fatal("not banned past the auth budget")
	}
	// Distributed guessing: many sources, one target.
	for i := range 3 {
		g.AuthFailed(netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)}), "app-1")
	}
	if _, locked := g.TargetLocked(caller, "app-1"); !locked {
		t.Fatal("target not locked after 7 failures")
	}
	if _, locked := g.TargetLocked(caller, "app-2"); locked {
		t.Fatal("another target locked")
	}
	clk.Add(1100 * time.Millisecond)
	if _, locked := g.TargetLocked(caller, "app-1"); locked {
		t.Fatal("first lock outlived 1 s")
	}
	for i := range 6 {
		g.AuthFailed(netip.AddrFrom4([4]byte{203, 0, 113, byte(150 + i)}), "app-1")
	}
	until, locked := g.TargetLocked(caller, "app-1")
	if !locked || until.Sub(clk.Now()) != 2*time.Second {
		t.Fatalf("second lock until %v (%v), want 2 s", until, locked)
	}
}

func TestManualBanUnbanAndSweep(t *testing.T) {
	g, clk := newTest(Config{BanTime: time.Minute})
	g.Ban(attacker, 0)
	if !g.Banned(attacker) || g.Allow(attacker) {
		t.Fatal("manual ban not in force")
	}
	if !g.Unban(attacker) || g.Banned(attacker) || !g.Allow(attacker) {
		t.Fatal("unban did not lift it")
	}
	if g.Unban(caller) {
		t.Fatal("unban of a source never banned")
	}
	g.Allow(caller)
	clk.Add(time.Hour)
	g.Sweep()
	if n := g.tracked.Load(); n != 0 {
		t.Fatalf("%d entries left after sweeping idle ones", n)
	}
}

// Spoofed sources cannot grow the tables past MaxTracked; they are simply
// not counted.
func TestMaxTracked(t *testing.T) {
	g, _ := newTest(Config{MaxTracked: 100, FloodLimit: 1})
	for i := range 1000 {
		g.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := g.tracked.Load(); n != 100 {
		t.Fatalf("tracked %d", n)
	}
}

func TestSamplerAndTruncate(t *testing.T) {
	s := NewSampler(2, time.Second)
	clk := &fakeClock{t: time.Unix(1, 0)}
	s.clock = clk
	got := 0
	for range 10 {
		if ok, _ := s.Allow(); ok {
			got++
		}
	}
	if got != 2 {
		t.Fatalf("%d lines let through, want 2", got)
	}
	clk.Add(time.Second)
	if ok, n := s.Allow(); !ok || n != 8 {
		t.Fatalf("next window: %v, %d held back (want 8)", ok, n)
	}
	if got := Truncate("héllo", 2); got != "h…" {
		t.Fatalf("Truncate = %q", got)
	}
}

func BenchmarkAllow(b *testing.B) {
	g := New(Config{Zone: "bench", FloodLimit: -1})
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Allow(addrs[i&1023])
		i++
	}
}
