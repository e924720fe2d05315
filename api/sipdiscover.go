package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPDiscovery is the node's discovery keeper (trunkops.Discoverer behind
// the server's adapter).
type SIPDiscovery interface {
	// StartDiscovery begins one; ErrDiscoveryRunning while the account's
	// previous one runs.
	StartDiscovery(accountID string, req SIPDiscoverRequest) (SIPDiscoveryView, error)
	// DiscoveryStatus is one as it stands; store.ErrNotFound for an
	// unknown or expired one.
	DiscoveryStatus(accountID, id string) (SIPDiscoveryView, error)
}

// ErrDiscoveryRunning is a discovery started while the account's previous
// one runs (409).
var ErrDiscoveryRunning = errors.New("a discovery is already running for this account")

// ErrDiscoveryStopped is a discovery asked while the node's keeper is not
// running (starting or shutting down: 503).
var ErrDiscoveryStopped = errors.New("discovery is not running on this node")

// Discovery request limits.
const (
	maxDiscoverPorts = 8
)

// SIPDiscoverRequest is POST /v1/sip/discover's body.
type SIPDiscoverRequest struct {
	Host      string  `json:"host" maxLength:"253" example:"sip.example.com" doc:"Host name or IP address of the SIP endpoint."`
	Port      *int    `json:"port,omitempty" minimum:"1" maximum:"65535" example:"5060" doc:"One port to probe. Without port or ports, 5060, 5061 and 5080 are probed (and any port an SRV record names)."`
	Ports     []int   `json:"ports,omitempty" maxItems:"8" doc:"Several ports to probe instead of the defaults (not with port)."`
	Transport *string `json:"transport,omitempty" enum:"udp,tcp,tls" doc:"One transport to probe; without it UDP, TCP and TLS are."`
}

// SIPDiscoveryView is a discovery as POST /v1/sip/discover and GET
// /v1/sip/discover/status show it.
type SIPDiscoveryView struct {
	DiscoveryID       string                   `json:"discovery_id" example:"disc_3f2a9c0e8d7b4c1a9e6f5d4c3b2a1908"`
	Status            string                   `json:"status" enum:"running,completed,failed" doc:"failed: the host did not resolve to anything to probe (see error)."`
	Host              string                   `json:"host" example:"sip.example.com"`
	ResolvedAddresses []string                 `json:"resolved_addresses" doc:"A/AAAA addresses of host." example:"[\"203.0.113.10\"]"`
	SRVRecords        []SIPSRVRecord           `json:"srv_records" doc:"SRV records found for _sip._udp, _sip._tcp and _sips._tcp."`
	Attempts          []SIPDiscoveryAttempt    `json:"attempts" doc:"The probes finished so far."`
	ProbesDone        int                      `json:"probes_done" doc:"Probes finished; progress while running."`
	ProbesTotal       int                      `json:"probes_total" doc:"Probes planned (at most 32)."`
	Recommended       *SIPDiscoveryRecommended `json:"recommended" doc:"The best answering endpoint; null while running or when none answered."`
	Error             *string                  `json:"error" doc:"Why the discovery failed; null otherwise."`
	StartedAt         string                   `json:"started_at" format:"date-time"`
	CompletedAt       *string                  `json:"completed_at" format:"date-time"`
}

// SIPSRVRecord is one SRV record.
type SIPSRVRecord struct {
	Name     string `json:"name" example:"_sip._udp.example.com"`
	Target   string `json:"target" example:"pbx1.example.com"`
	Port     int    `json:"port" example:"5060"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
}

// SIPDiscoveryAttempt is one OPTIONS probe.
type SIPDiscoveryAttempt struct {
	Address        string   `json:"address" example:"203.0.113.10"`
	Port           int      `json:"port" example:"5060"`
	Transport      string   `json:"transport" enum:"udp,tcp,tls"`
	FromSRV        bool     `json:"from_srv" doc:"An SRV record named this endpoint."`
	ResponseCode   *int     `json:"response_code" doc:"The final response's status; null when none came." example:"200"`
	ResponseTimeMS *float64 `json:"response_time_ms" example:"45"`
	UserAgent      *string  `json:"user_agent" doc:"The answer's Server (or User-Agent) header." example:"Asterisk PBX 18.0.0"`
	DetectedSystem *string  `json:"detected_system" example:"Asterisk"`
	Methods        []string `json:"methods" doc:"From the answer's Allow header." example:"[\"INVITE\",\"ACK\",\"BYE\",\"CANCEL\",\"OPTIONS\"]"`
	Codecs         []string `json:"codecs" doc:"Audio codecs of the answer's SDP, if it had one." example:"[\"PCMU\",\"PCMA\"]"`
	Error          *string  `json:"error" doc:"Why the probe got no answer; null when it did."`
}

// SIPDiscoveryRecommended is the endpoint to configure.
type SIPDiscoveryRecommended struct {
	Address        string   `json:"address" example:"203.0.113.10"`
	Port           int      `json:"port" example:"5060"`
	Transport      string   `json:"transport" enum:"udp,tcp,tls"`
	DetectedSystem *string  `json:"detected_system" example:"Asterisk"`
	Codecs         []string `json:"codecs" example:"[\"PCMU\",\"PCMA\"]"`
	Methods        []string `json:"methods" example:"[\"INVITE\",\"ACK\",\"BYE\",\"CANCEL\",\"OPTIONS\"]"`
}

func registerSIPDiscovery(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("discoverSip", http.MethodPost, "/v1/sip/discover", "Discover a SIP endpoint",
		"Starts discovering host in the background: DNS (A/AAAA, SRV _sip._udp, _sip._tcp, _sips._tcp), then SIP OPTIONS to each address on ports 5060, 5061, 5080 (or the ports asked, and any SRV port) over UDP, TCP and TLS, at most 32 probes, 8 at a time, 3 s each, 15 s in all. Only SIP OPTIONS are sent. Poll GET /v1/sip/discover/status with the returned discovery_id; results stay for 10 minutes. One discovery per account at a time (409).",
		http.StatusConflict),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPDiscoveryView], error) {
			var body SIPDiscoverRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			if err := body.validate(); err != nil {
				return nil, err
			}
			if s.cfg.Discovery == nil {
				return nil, huma.Error503ServiceUnavailable("discovery is not running on this node")
			}
			v, err := s.cfg.Discovery.StartDiscovery(principal(ctx).AccountID, body)
			if errors.Is(err, ErrDiscoveryRunning) {
				return nil, huma.Error409Conflict(err.Error())
			}
			if errors.Is(err, ErrDiscoveryStopped) {
				return nil, huma.Error503ServiceUnavailable(err.Error())
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPDiscoveryView]{Body: sipEnvelope(v)}, nil
		})
	s.bodySchema("/v1/sip/discover", http.MethodPost, reflectType[SIPDiscoverRequest](), true)

	huma.Register(s.api, op("getSipDiscoverStatus", http.MethodGet, "/v1/sip/discover/status", "Get discovery status",
		"A discovery's progress (probes_done of probes_total, the attempts so far) while running, and its result and recommended endpoint when completed.",
		http.StatusNotFound),
		func(ctx context.Context, in *struct {
			DiscoveryID string `query:"discovery_id" doc:"Required: from POST /v1/sip/discover."`
		}) (*sipOut[SIPDiscoveryView], error) {
			if in.DiscoveryID == "" {
				return nil, queryProblem("discovery_id", "", "required")
			}
			if s.cfg.Discovery == nil {
				return nil, huma.Error503ServiceUnavailable("discovery is not running on this node")
			}
			v, err := s.cfg.Discovery.DiscoveryStatus(principal(ctx).AccountID, in.DiscoveryID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, huma.Error404NotFound("no discovery " + in.DiscoveryID + " (results expire after 10 minutes)")
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPDiscoveryView]{Body: sipEnvelope(v)}, nil
		})
}

func (r *SIPDiscoverRequest) validate() error {
	r.Host = strings.TrimSuffix(strings.TrimSpace(r.Host), ".")
	if r.Host == "" {
		return fieldProblem("host", r.Host, "required: a host name or IP address")
	}
	if h := strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"); h != r.Host {
		r.Host = h
	}
	if _, err := netip.ParseAddr(r.Host); err != nil && !validHostName(r.Host) {
		return fieldProblem("host", r.Host, "must be a host name or an IP address (no port, scheme or user)")
	}
	if r.Port != nil && r.Ports != nil {
		return fieldProblem("ports", nil, "send port or ports, not both")
	}
	if r.Port != nil {
		r.Ports = []int{*r.Port}
	}
	if len(r.Ports) > maxDiscoverPorts {
		return fieldProblem("ports", len(r.Ports), "at most 8 ports")
	}
	for i, p := range r.Ports {
		if p < 1 || p > 65535 {
			field := "ports[" + strconv.Itoa(i) + "]"
			if r.Port != nil {
				field = "port"
			}
			return fieldProblem(field, p, "must be 1 to 65535")
		}
	}
	r.Ports = slices.Compact(slices.Sorted(slices.Values(r.Ports)))
	if r.Transport != nil && !slices.Contains([]string{"udp", "tcp", "tls"}, *r.Transport) {
		return fieldProblem("transport", *r.Transport, `must be "udp", "tcp" or "tls"`)
	}
	return nil
}

// validHostName is an LDH DNS name: labels of letters, digits and inner
// hyphens (underscores too, some internal names have them), 63 bytes each.
func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for l := range strings.SplitSeq(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
