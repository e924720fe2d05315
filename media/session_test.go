package media

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestPortPool(t *testing.T) {
	p, err := NewPortPool(20001, 20010) // even ports 20002..20008 (20010 has no +1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i := 0; i < 4; i++ {
		port, err := p.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		if port%2 != 0 || port < 20002 || port+1 > 20010 || seen[port] {
			t.Fatalf("bad or repeated port %d", port)
		}
		seen[port] = true
	}
	if _, err := p.Acquire(); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("exhausted pool: %v", err)
	}
	p.Release(20004)
	p.Release(20004) // double release must not make it available twice
	if p.Free() != 1 || p.InUse() != 3 {
		t.Fatalf("free %d in use %d", p.Free(), p.InUse())
	}
	if port, _ := p.Acquire(); port != 20004 {
		t.Fatalf("got %d", port)
	}
	if _, err := NewPortPool(40000, 30000); err == nil {
		t.Fatal("inverted range accepted")
	}
}

func TestIdleLegReported(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, func(c *Config) { c.IdleTimeout = 150 * time.Millisecond })
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	// The timer starts at the answer: a leg still ringing (negotiated,
	// not activated) is never reported.
	ringing := newPeer(t, false).answered(t, s, "ringing", "0")
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0")
	l.Activate()
	select {
	case got := <-s.Idle():
		if got != l {
			t.Fatalf("leg %s reported idle, want caller", got.Name())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("idle leg not reported")
	}
	select {
	case got := <-s.Idle():
		t.Fatalf("leg %s reported idle again (ringing: %v)", got.Name(), got == ringing)
	case <-time.After(500 * time.Millisecond):
	}
}

// 1,000 sessions, each with two bridged legs that carried media, opened and
// closed: afterwards no goroutine is left and every port is back.
func TestNoLeakAfter1000Sessions(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.IdleTimeout = time.Minute })
	x, y := newPeer(t, false), newPeer(t, false)
	before := runtime.NumGoroutine()
	for i := 0; i < 1000; i++ {
		s := m.NewSession(SessionOptions{})
		a := x.answered(t, s, "a", "0")
		b := y.answered(t, s, "b", "8")
		if err := s.Bridge(a, b); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			x.send(0, true, payload160(1))
			if _, err := y.recv(5 * time.Second); err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Pool().InUse(); n != 0 {
		t.Fatalf("%d ports still in use", n)
	}
	// Goroutines exit before Close returns; allow the runtime a moment for
	// unrelated ones (timers of the test itself).
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines %d -> %d\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestClosedSessionRefusesLegs(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewLeg("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewLeg after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
