package testenv

import (
	"fmt"
	"net"
	"strconv"
	"testing"
)

// Ports found free may be taken again before the test binds them; callers
// that start an external peer on one retry on a bind failure.

// FreeUDPPort returns a UDP port free on 127.0.0.1 right now.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FreeTCPPort returns a TCP port free on 127.0.0.1 right now.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeSIPPort returns a port free for both UDP and TCP (a SIP listener).
func FreeSIPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := FreeUDPPort(t)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// FreeUDPPorts returns an even UDP port with the n-1 ports after it free
// too: 2 for RTP and RTCP, 4 for sipp's audio and video pairs.
func FreeUDPPorts(t testing.TB, n int) int {
	t.Helper()
	for range 50 {
		p := FreeUDPPort(t)
		p -= p % 2
		var held []net.PacketConn
		for i := range n {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == n {
			return p
		}
	}
	t.Fatalf("no %d consecutive free UDP ports", n)
	return 0
}
