package media

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// sprayer is a UDP socket on another loopback address (an attacker).
func sprayer(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sprayPacket(seq uint16) []byte {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, SSRC: 0xbad}, Payload: make([]byte, 160)}).Marshal()
	return b
}

// A sprayer that reaches a fresh call's port before its caller does gets
// nothing: only the address the call's description names may latch. The
// caller then latches and hears the callee; the sprayer still hears nothing
// and is not heard.
func TestSprayerCannotLatch(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	caller, callee := newPeer(t, false), newPeer(t, false)
	a := caller.answered(t, s, "caller", "0")
	b := callee.answered(t, s, "callee", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	spray := sprayer(t, "127.0.0.2")
	legAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: a.port}
	for i := range 20 {
		spray.WriteToUDP(sprayPacket(uint16(i)), legAddr)
		callee.send(0, false, payload160(byte(i)))
		time.Sleep(2 * time.Millisecond)
	}
	// The callee's packets go to the caller's described address meanwhile.
	if got := caller.recvN(20, time.Second); len(got) != 20 {
		t.Fatalf("caller received %d of 20 packets", len(got))
	}
	if got := callee.recvN(1, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("the callee heard the sprayer: %d packets", len(got))
	}
	if r, latched := a.RemoteAddr(); latched && r.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("the caller leg latched %v", r)
	}
	caller.send(0, true, payload160(1))
	if got := callee.recvN(1, time.Second); len(got) != 1 {
		t.Fatal("the caller is not heard after the spray")
	}
	spray.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := spray.ReadFrom(make([]byte, 2000)); err == nil {
		t.Fatalf("the sprayer received a %d-byte packet", n)
	}
}

// A caller behind a NAT describes a private address; media from the IP its
// signalling came from may latch during the NAT window, and from nowhere
// else.
func TestSignallingSourceLatchesBehindNAT(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l, err := s.NewLeg("caller")
	if err != nil {
		t.Fatal(err)
	}
	offer := strings.ReplaceAll(string(p.offer("0")), "127.0.0.1", "10.1.2.3")
	ans, err := l.Answer([]byte(offer), AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.useAnswer(ans)
	p.send(0, true, payload160(1))
	time.Sleep(50 * time.Millisecond)
	if _, latched := l.RemoteAddr(); latched {
		t.Fatal("latched from an address the call does not name")
	}
	l.AllowSource(netip.MustParseAddr("127.0.0.1"))
	p.send(0, false, payload160(2))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if r, latched := l.RemoteAddr(); latched {
			if r.Port() != uint16(p.port()) {
				t.Fatalf("latched %v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("media from the signalling source did not latch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After the window, a leg not yet latched takes only its description.
	l2, err := s.NewLeg("late")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Answer([]byte(offer), AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	l2.signal.Store(&signalSource{ip: netip.MustParseAddr("127.0.0.1"), until: time.Now().Add(-time.Second)})
	if l2.mayLatch(netip.MustParseAddr("127.0.0.1"), l2.rtpRemote.Load()) {
		t.Fatal("the signalling source may latch after the window")
	}
}

// A phone on the node's own machine describes and signals from loopback but
// sends from the node's advertised address (the kernel's source for a local
// destination): that address counts as loopback, but only when it is one of
// this host's (a NAT's public address is not), and no other address does.
func TestSameHostPhoneLatches(t *testing.T) {
	advertised := netip.MustParseAddr("192.0.2.2")
	loopback := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		name            string
		advertisedLocal bool
		described       string // the offer's c= address
		signal          netip.Addr
		from            netip.Addr
		want            bool
	}{
		{"from the advertised address, loopback described", true, "127.0.0.1", netip.Addr{}, advertised, true},
		{"from the advertised address, loopback signalling", true, "10.1.2.3", loopback, advertised, true},
		{"from the advertised address, a remote peer", true, "10.1.2.3", netip.MustParseAddr("198.51.100.7"), advertised, false},
		{"advertised address not this host's", false, "127.0.0.1", loopback, advertised, false},
		{"another loopback address", true, "127.0.0.1", loopback, netip.MustParseAddr("127.0.0.2"), false},
		{"the described address itself", true, "127.0.0.1", netip.Addr{}, loopback, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestManager(t, func(c *Config) { c.AdvertisedIP = advertised })
			m.advertisedLocal = tc.advertisedLocal
			s := m.NewSession(SessionOptions{})
			defer s.Close()
			l, err := s.NewLeg("caller")
			if err != nil {
				t.Fatal(err)
			}
			offer := strings.ReplaceAll(string(newPeer(t, false).offer("0")), "127.0.0.1", tc.described)
			if _, err := l.Answer([]byte(offer), AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			l.AllowSource(tc.signal)
			if got := l.mayLatch(tc.from, l.rtpRemote.Load()); got != tc.want {
				t.Errorf("a packet from %v may latch: %v, want %v", tc.from, got, tc.want)
			}
		})
	}
}

func TestIsHostAddress(t *testing.T) {
	if !isHostAddress(netip.MustParseAddr("127.0.0.1")) {
		t.Error("127.0.0.1 is not a host address")
	}
	if isHostAddress(netip.MustParseAddr("203.0.113.254")) { // TEST-NET-3
		t.Error("203.0.113.254 is a host address")
	}
}
