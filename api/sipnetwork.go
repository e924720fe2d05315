package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/store"
)

// SIPNetwork is where the node takes SIP and media: what a customer's
// firewall and PBX need (GET /v1/sip/firewall-ips, /v1/sip/outbound-setup).
type SIPNetwork struct {
	Region string
	// Domain is the SIP domain PBXes send to; IP the address the node
	// advertises in Via, Contact and SDP.
	Domain, IP string
	// Listeners are the bound SIP listeners' transports and ports.
	Listeners      []SIPListenerPort
	RTPMin, RTPMax int
}

// SIPListenerPort is one bound SIP listener.
type SIPListenerPort struct {
	Transport string // udp, tcp, tls
	Port      int
}

// SIPFirewallView is GET /v1/sip/firewall-ips's data.
type SIPFirewallView struct {
	IPAddresses []string `json:"ip_addresses" doc:"Addresses to allow: the node's signalling and media address." example:"[\"203.0.113.10\"]"`
	Ports       struct {
		SIP string `json:"sip" doc:"Signalling ports and transports." example:"5060 UDP, 5060 TCP, 5061 TLS"`
		RTP string `json:"rtp" doc:"The media port range (RTCP on RTP+1)." example:"30000-40000 UDP"`
	} `json:"ports"`
	Region    string            `json:"region" example:"US"`
	Signaling []SIPEndpointView `json:"signaling" doc:"Each listener: address, port and transport."`
}

// SIPEndpointView is one listener as a PBX addresses it.
type SIPEndpointView struct {
	IP        string `json:"ip" example:"203.0.113.10"`
	Port      int    `json:"port" example:"5060"`
	Transport string `json:"transport" enum:"udp,tcp,tls"`
}

// SIPOutboundSetupView is GET /v1/sip/outbound-setup's data.
type SIPOutboundSetupView struct {
	SIPServer    string `json:"sip_server" doc:"Host PBXes send calls to (the SIP domain)." example:"sip.example.com"`
	Port         int    `json:"port" example:"5061"`
	Transport    string `json:"transport" enum:"udp,tcp,tls" doc:"TLS when the node has a TLS listener, else UDP."`
	Instructions string `json:"instructions"`
	// Credentials are the number's register credentials, redacted; null
	// without phone_number or in ip mode.
	Credentials *SIPSetupCredentials `json:"credentials"`
}

// SIPSetupCredentials are a number's register-mode credentials, the
// password redacted.
type SIPSetupCredentials struct {
	Username string `json:"username"`
	Password string `json:"password" doc:"Redacted: the one-time value is shown when it is set." example:"********"`
	AuthMode string `json:"auth_mode" enum:"ip,register"`
}

func registerSIPNetwork(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("getSipFirewallIps", http.MethodGet, "/v1/sip/firewall-ips", "Get firewall IPs",
		"The node's signalling and media addresses and ports, as bound now, for the customer's firewall."),
		func(ctx context.Context, _ *struct{}) (*sipOut[SIPFirewallView], error) {
			n, err := s.network()
			if err != nil {
				return nil, err
			}
			var v SIPFirewallView
			v.Region = n.Region
			v.IPAddresses = []string{n.IP}
			var ports []string
			for _, l := range n.Listeners {
				v.Signaling = append(v.Signaling, SIPEndpointView{IP: n.IP, Port: l.Port, Transport: l.Transport})
				ports = append(ports, fmt.Sprintf("%d %s", l.Port, strings.ToUpper(l.Transport)))
			}
			v.Ports.SIP = strings.Join(ports, ", ")
			v.Ports.RTP = fmt.Sprintf("%d-%d UDP", n.RTPMin, n.RTPMax+1)
			return &sipOut[SIPFirewallView]{Body: sipEnvelope(v)}, nil
		})

	huma.Register(s.api, op("getSipOutboundSetup", http.MethodGet, "/v1/sip/outbound-setup", "Get outbound setup",
		"What a PBX needs to send calls to this node: server, port, transport, instructions, and with phone_number the number's register credentials (redacted).",
		http.StatusNotFound),
		func(ctx context.Context, in *struct {
			PhoneNumber string `query:"phone_number" example:"+14150000000" doc:"Optional: adds the number's credentials (redacted)."`
		}) (*sipOut[SIPOutboundSetupView], error) {
			n, err := s.network()
			if err != nil {
				return nil, err
			}
			v := SIPOutboundSetupView{SIPServer: n.Domain, Transport: "udp"}
			for _, l := range n.Listeners {
				if v.Port == 0 || l.Transport == "tls" {
					v.Port, v.Transport = l.Port, l.Transport
				}
			}
			number := "<E.164 number>"
			if in.PhoneNumber != "" {
				acct, num, err := s.queryNumber(ctx, in.PhoneNumber)
				if err != nil {
					return nil, err
				}
				cs, err := s.cfg.Store.SIPConfigurations(ctx, acct, num)
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				c, ok, _ := store.PickSIPConfiguration(cs, headermap.Inbound, "", false)
				if !ok {
					return nil, huma.Error404NotFound(num + " has no inbound SIP configuration")
				}
				number = num
				v.Credentials = &SIPSetupCredentials{AuthMode: string(c.AuthMode)}
				if c.AuthMode == store.AuthRegister {
					v.Credentials.Username, v.Credentials.Password = c.Register.Username, "********"
				}
			}
			v.Instructions = fmt.Sprintf("Configure your PBX to send SIP INVITEs for %s to sip:%s@%s:%d;transport=%s. "+
				"In ip mode, allow the PBX's addresses on the number's inbound configuration; in register mode, answer our 407 with the register credentials. "+
				"Allow RTP on UDP %d-%d (RTCP on RTP+1) to and from %s.",
				number, number, n.Domain, v.Port, v.Transport, n.RTPMin, n.RTPMax+1, n.IP)
			return &sipOut[SIPOutboundSetupView]{Body: sipEnvelope(v)}, nil
		})
}

// network is the node's SIP network, or 503 before the node listens.
func (s *Server) network() (SIPNetwork, error) {
	if s.cfg.Network == nil {
		return SIPNetwork{}, huma.Error503ServiceUnavailable("the node's SIP listeners are not known")
	}
	n := s.cfg.Network()
	if len(n.Listeners) == 0 {
		return SIPNetwork{}, huma.Error503ServiceUnavailable("the node has no SIP listener up")
	}
	return n, nil
}
