package media

import (
	"net"
	"net/netip"
)

// OutboundIP guesses the address peers can reach this node on: the source
// address the kernel picks for a public destination. Connecting a UDP socket
// sends nothing; with no route at all it falls back to loopback.
func OutboundIP() netip.Addr {
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

// isHostAddress reports whether ip is assigned to one of this host's
// interfaces.
func isHostAddress(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip.Unmap() {
				return true
			}
		}
	}
	return false
}
