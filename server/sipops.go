package server

import (
	"context"
	"net"
	"sort"
	"strconv"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// healthAPI is the trunk health keeper as the API sees it.
type healthAPI struct{ h *trunkops.Health }

var _ api.SIPHealth = healthAPI{}

func (a healthAPI) SIPHealth(ctx context.Context, accountID, number string) (api.SIPHealthView, error) {
	r, err := a.h.Check(ctx, accountID, number)
	if err != nil {
		return api.SIPHealthView{}, err
	}
	return api.HealthView(number, r.Status, r.Endpoint, r.ResponseTime, r.CheckedAt, r.UptimePercent,
		r.AverageResponseTime, r.Probes, r.LastError, r.LastErrorAt), nil
}

// network is the node's SIP and media addresses as the firewall and PBX
// setup routes show them: the advertised IP, the bound listeners, the RTP
// range.
func (s *Server) network(ip string, rtpMin, rtpMax int) api.SIPNetwork {
	n := api.SIPNetwork{Region: s.cfg.Region, Domain: s.cfg.SIPDomain, IP: ip, RTPMin: rtpMin, RTPMax: rtpMax}
	for _, l := range s.sip.Listeners() {
		if _, port, err := net.SplitHostPort(l.Addr); err == nil {
			p, _ := strconv.Atoi(port)
			n.Listeners = append(n.Listeners, api.SIPListenerPort{Transport: l.Network, Port: p})
		}
	}
	order := map[string]int{"udp": 0, "tcp": 1, "tls": 2}
	sort.Slice(n.Listeners, func(i, j int) bool { return order[n.Listeners[i].Transport] < order[n.Listeners[j].Transport] })
	return n
}
