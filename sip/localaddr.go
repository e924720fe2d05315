package sip

import (
	"net"

	"github.com/emiago/sipgo/sip"
)

// sendFromListener makes a UDP request we originate (an outbound INVITE, a
// REGISTER) leave from our UDP listener's socket, so its source port is the
// one its Via and Contact name: a trunk with an address allowlist, or a
// NAT, sees --sip-addr's port. Without it sipgo opens a new socket on an
// ephemeral port. Requests within the dialog follow: sipgo sends to a peer
// it heard from on the listener through the listener. TCP and TLS connect
// from an ephemeral port as RFC 3261 allows (Via carries the listener's
// port, and sipgo reuses the connection for the dialog).
func (s *Server) sendFromListener(req *sip.Request) {
	if req.Transport() != "UDP" {
		return
	}
	s.udpConns.Range(func(_, v any) bool {
		if ua, ok := v.(*net.UDPConn).LocalAddr().(*net.UDPAddr); ok {
			req.Laddr = sip.Addr{IP: ua.IP, Port: ua.Port}
		}
		return false // the first listener: a node has one UDP listener
	})
}
