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
// scanners, all without an answer; a malformed request is answered here
// (sanitize). TCP and TLS connections are checked per message by their
// streamConn.

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
	if len(data) <= 4 && len(bytes.Trim(data, "\r\n")) == 0 {
		return data, nil // keep-alive
	}
	if g != nil && !g.Allow(ip) {
		return nil, nil
	}
	if g != nil && isScanner(data) {
		g.Drop(guard.ReasonScanner)
		g.Ban(ip, 0)
		if ok, n := s.rejectLogs.Allow(); ok {
			s.log.Info("scanner dropped and banned", "source", ip.String(), "suppressed", n)
		}
		return nil, nil
	}
	data, v := sanitize(data, true)
	if v.status != 0 {
		s.refuseRaw(data, v, "UDP", ua.String(), func(resp []byte) {
			if c, ok := s.udpConns.Load(props.LocalAddr.String()); ok {
				_, _ = c.(*net.UDPConn).WriteToUDP(resp, ua)
			}
		})
		return nil, nil
	}
	return data, nil
}

// refuseRaw answers a request that sanitize refused (when an answer is
// possible: never to a response or an ACK), counts and logs it.
func (s *Server) refuseRaw(msg []byte, v sanity, transport, source string, send func([]byte)) {
	metricRejections.WithLabelValues(sanityLabel(v.status)).Inc()
	if ok, n := s.rejectLogs.Allow(); ok {
		s.log.Info("sip request refused", "status", v.status, "reason", v.reason, "transport", transport, "source", source, "suppressed", n)
	}
	head, _, _ := cutHeader(msg)
	var extra []string
	if v.unsupported != "" {
		extra = append(extra, "Unsupported: "+guard.Truncate(v.unsupported, maxLoggedURI))
	}
	if resp := errorResponse(head, v.status, reasonPhrase(v.status), extra...); resp != nil {
		send(resp)
	}
}

// sanityLabel is the rejections metric's label for a sanitize verdict.
func sanityLabel(status int) string {
	switch status {
	case 416:
		return reasonUnsupportedScheme
	case 420:
		return reasonBadExtension
	case 505:
		return reasonVersion
	}
	return reasonMalformed
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
