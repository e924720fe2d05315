package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/store"
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

// discoveryAPI is the discovery keeper as the API sees it.
type discoveryAPI struct{ d *trunkops.Discoverer }

var _ api.SIPDiscovery = discoveryAPI{}

func (a discoveryAPI) StartDiscovery(accountID string, req api.SIPDiscoverRequest) (api.SIPDiscoveryView, error) {
	r := trunkops.DiscoverRequest{Host: req.Host, Ports: req.Ports}
	if req.Transport != nil {
		r.Transports = []string{*req.Transport}
	}
	d, err := a.d.Start(accountID, r)
	if errors.Is(err, trunkops.ErrDiscoveryRunning) {
		// The message names the running discovery.
		return api.SIPDiscoveryView{}, fmt.Errorf("%w%s", api.ErrDiscoveryRunning, strings.TrimPrefix(err.Error(), trunkops.ErrDiscoveryRunning.Error()))
	}
	if errors.Is(err, trunkops.ErrDiscoveryStopped) {
		return api.SIPDiscoveryView{}, api.ErrDiscoveryStopped
	}
	if err != nil {
		return api.SIPDiscoveryView{}, err
	}
	return discoveryView(d), nil
}

func (a discoveryAPI) DiscoveryStatus(accountID, id string) (api.SIPDiscoveryView, error) {
	d, err := a.d.Status(accountID, id)
	if errors.Is(err, trunkops.ErrDiscoveryNotFound) {
		return api.SIPDiscoveryView{}, store.ErrNotFound
	}
	if err != nil {
		return api.SIPDiscoveryView{}, err
	}
	return discoveryView(d), nil
}

func discoveryView(d trunkops.Discovery) api.SIPDiscoveryView {
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	v := api.SIPDiscoveryView{
		DiscoveryID: d.ID, Status: d.Status, Host: d.Host, ResolvedAddresses: d.ResolvedAddresses,
		SRVRecords: []api.SIPSRVRecord{}, Attempts: []api.SIPDiscoveryAttempt{},
		ProbesDone: d.ProbesDone, ProbesTotal: d.ProbesTotal, Error: str(d.Error), StartedAt: ts(d.StartedAt),
	}
	if v.ResolvedAddresses == nil {
		v.ResolvedAddresses = []string{}
	}
	if !d.CompletedAt.IsZero() {
		c := ts(d.CompletedAt)
		v.CompletedAt = &c
	}
	for _, r := range d.SRVRecords {
		v.SRVRecords = append(v.SRVRecords, api.SIPSRVRecord{Name: r.Name, Target: r.Target, Port: r.Port, Priority: r.Priority, Weight: r.Weight})
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	for _, a := range d.Attempts {
		av := api.SIPDiscoveryAttempt{Address: a.Address, Port: a.Port, Transport: a.Transport, FromSRV: a.FromSRV,
			UserAgent: str(a.UserAgent), DetectedSystem: str(a.DetectedSystem), Methods: nonNil(a.Methods),
			Codecs: nonNil(a.Codecs), Error: str(a.Error)}
		if a.ResponseCode != 0 {
			code, ms := a.ResponseCode, float64(a.ResponseTime.Microseconds())/1000
			av.ResponseCode, av.ResponseTimeMS = &code, &ms
		}
		v.Attempts = append(v.Attempts, av)
	}
	if r := d.Recommended; r != nil {
		v.Recommended = &api.SIPDiscoveryRecommended{Address: r.Address, Port: r.Port, Transport: r.Transport,
			DetectedSystem: str(r.DetectedSystem), Codecs: nonNil(r.Codecs), Methods: nonNil(r.Methods)}
	}
	return v
}

// testCallAPI is the test call keeper as the API sees it.
type testCallAPI struct{ t *trunkops.TestCalls }

var _ api.SIPTestCalls = testCallAPI{}

func (a testCallAPI) StartTestCall(ctx context.Context, accountID, number string) (string, error) {
	rec, err := a.t.Start(ctx, accountID, number)
	var limited *trunkops.RateLimitedError
	switch {
	case errors.As(err, &limited):
		return "", &api.TestCallRateLimitError{Message: limited.Error(), RetryAfter: limited.RetryAfter}
	case errors.Is(err, trunkops.ErrTestCallRunning):
		return "", api.ErrTestCallRunning
	case errors.Is(err, calls.ErrCapacity):
		return "", fmt.Errorf("%w: %s", api.ErrCallCapacity, strings.TrimPrefix(err.Error(), calls.ErrCapacity.Error()+": "))
	case err != nil:
		return "", err
	}
	return rec.ID, nil
}

func (a testCallAPI) TestCallStatus(ctx context.Context, accountID, callID string) (api.SIPTestCallStatus, error) {
	st, err := a.t.Status(ctx, accountID, callID)
	if err != nil {
		return api.SIPTestCallStatus{}, err
	}
	v := api.SIPTestCallStatus{CallID: st.CallID, PhoneNumber: st.PhoneNumber, Status: "completed", Result: "failure",
		DurationSeconds: math.Round(st.Duration.Seconds()*1000) / 1000, StartedAt: st.StartedAt.UTC().Format(time.RFC3339Nano),
		Timeline: make([]api.SIPTimelineEvent, 0, len(st.Timeline))}
	switch {
	case st.Running:
		v.Status, v.Result = "running", "pending"
	case st.Success:
		v.Result = "success"
	default:
		if st.SIPCode != 0 {
			v.SIPCode = &st.SIPCode
		}
		v.Reason = &st.Reason
	}
	for _, e := range st.Timeline {
		v.Timeline = append(v.Timeline, api.TimelineEntry(e.At, e.Offset, e.Sent, e.Method, e.Status, e.Reason, e.StartLine))
	}
	return v, nil
}
