package sip

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/guard"
)

// SourceHeader carries a request's original source ("ip:port") when a SIP
// proxy in front of several nodes (Kamailio's dispatcher) relays it: the
// proxy adds it (append_hf("X-Wasmvoice-Source: $si:$sp\r\n")), and only a
// proxy in Config.TrustedProxies may. Like every X-* header it is removed
// before the application sees the request.
const SourceHeader = "X-Wasmvoice-Source"

// requestSource is where req comes from for allowlists, rate limits, caps
// and nonce bindings: the packet's source, or the original source a trusted
// proxy gives in SourceHeader (proxied is then true). From anyone else the
// header is ignored (and logged, sampled): a caller must not choose its own
// address.
func (s *Server) requestSource(req *sip.Request) (src netip.AddrPort, proxied bool, err error) {
	src, err = netip.ParseAddrPort(req.Source())
	if err != nil {
		return src, false, err
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	h := req.GetHeader(SourceHeader)
	if h == nil {
		return src, false, nil
	}
	if !s.trustedProxy(src.Addr()) {
		metricProxySource.WithLabelValues("untrusted").Inc()
		if ok, n := s.rejectLogs.Allow(); ok {
			s.log.Warn("ignored "+SourceHeader+" from a source that is not a trusted proxy (--sip-trusted-proxies)", "source", src.String(), "suppressed", n)
		}
		return src, false, nil
	}
	orig, err := parseSourceValue(h.Value())
	if err != nil {
		metricProxySource.WithLabelValues("malformed").Inc()
		if ok, n := s.rejectLogs.Allow(); ok {
			s.log.Warn("malformed "+SourceHeader+" from a trusted proxy; using the proxy's address", "proxy", src.String(), "value", guard.Truncate(h.Value(), 64), "suppressed", n)
		}
		return src, false, nil
	}
	metricProxySource.WithLabelValues("used").Inc()
	return orig, true, nil
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseSourceValue reads "ip:port", "[v6]:port" or a bare IP (port 0).
func parseSourceValue(v string) (netip.AddrPort, error) {
	v = strings.TrimSpace(v)
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := netip.ParseAddr(strings.Trim(v, "[]"))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a.Unmap(), 0), nil
}
