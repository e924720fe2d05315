package server

import (
	"fmt"
	"net"
	"net/netip"
)

// outboundIP guesses the address peers can reach this node on: the source
// address the kernel picks for a public destination. Connecting a UDP socket
// sends nothing; with no route at all it falls back to loopback.
func outboundIP() netip.Addr {
	c, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1: never contacted
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	return ap.Addr()
}

func mediaAddr(configured string) (netip.Addr, error) {
	if configured == "" {
		return outboundIP(), nil
	}
	a, err := netip.ParseAddr(configured)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--media-ip %q: %w", configured, err)
	}
	return a, nil
}

// sharedPort makes "host:0" concrete, so SIP over UDP and TCP share one port
// (peers expect both on the same one). It picks a port free for both.
func sharedPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--sip-addr %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	for range 20 {
		tl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", fmt.Errorf("--sip-addr %q: %w", addr, err)
		}
		p := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort(host, fmt.Sprint(p)))
		tl.Close()
		if err == nil {
			ul.Close()
			return net.JoinHostPort(host, fmt.Sprint(p)), nil
		}
	}
	return "", fmt.Errorf("--sip-addr %q: no port free for both UDP and TCP", addr)
}

// publicHostPort is the API's host:port as peers should see it, for the
// callUrl and mediaUrl fields when --public-url is not set.
func publicHostPort(a net.Addr, fallbackHost string) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = fallbackHost
	}
	return net.JoinHostPort(host, fmt.Sprint(ta.Port))
}
