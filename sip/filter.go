package sip

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/guard"
)

// Datagrams are checked before sipgo parses them (the costly part): a banned
// or flooding source's packets are dropped, and so are those of known SIP
// scanners, all without an answer. TCP and TLS connections are checked per
// message by their streamConn.

// scannerAgents are User-Agent values of the tools that sweep the internet
// for open SIP ports and weak passwords; no real phone sends them.
var scannerAgents = [][]byte{
	[]byte("friendly-scanner"), []byte("sipvicious"), []byte("sipcli"), []byte("sip-scan"),
	[]byte("sipscan"), []byte("sundayddr"), []byte("vaxsipuseragent"), []byte("pplsip"),
}

// readFilter is sipgo's hook on raw bytes read (UDP datagrams, TCP chunks).
// Returning no bytes drops the datagram; it never returns an error, which
// would end the listener.
func (s *Server) readFilter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	ua, ok := props.RemoteAddr.(*net.UDPAddr)
	if !ok {
		return data, nil // streams: streamConn checks per message
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	ip = ip.Unmap()
	g := s.cfg.Guard
	if g == nil {
		return data, nil
	}
	if len(data) <= 4 && len(bytes.Trim(data, "\r\n")) == 0 {
		return data, nil // keep-alive
	}
	if !g.Allow(ip) {
		return nil, nil
	}
	if isScanner(data) {
		g.Drop(guard.ReasonScanner)
		g.Ban(ip, 0)
		if ok, n := s.rejectLogs.Allow(); ok {
			s.log.Info("scanner dropped and banned", "source", ip.String(), "suppressed", n)
		}
		return nil, nil
	}
	return data, nil
}

// isScanner reports whether a message's User-Agent names a scanner.
func isScanner(msg []byte) bool {
	if end := bytes.Index(msg, []byte("\r\n\r\n")); end >= 0 {
		msg = msg[:end]
	}
	for len(msg) > 0 {
		var line []byte
		line, msg, _ = bytes.Cut(msg, []byte("\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("user-agent")) {
			continue
		}
		v := bytes.ToLower(value)
		for _, s := range scannerAgents {
			if bytes.Contains(v, s) {
				return true
			}
		}
		return false
	}
	return false
}
