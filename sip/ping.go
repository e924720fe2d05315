package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Pong is a peer's answer to our OPTIONS.
type Pong struct {
	Status int
	Reason string
	// RTT is the time from sending the request to its final response.
	RTT time.Duration
	// Server is the peer's Server (or User-Agent) header, naming its software.
	Server string
	// Allow lists the methods the peer says it supports.
	Allow string
	// ContentType and Body are the response's body (an SDP, when the peer
	// describes its media capabilities), at most 8 KiB of it.
	ContentType string
	Body        []byte
}

// Ping sends OPTIONS to uri ("sip:host:port;transport=tcp") and waits for
// the final response. Any final response, even a 4xx, means the peer is up
// and speaking SIP (many trunks answer unauthenticated OPTIONS with 401 or
// 403); an error means no answer within ctx, or no connection.
func (s *Server) Ping(ctx context.Context, uri string) (Pong, error) {
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil {
		return Pong{}, fmt.Errorf("sip: ping %q: %w", uri, err)
	}
	req := sip.NewRequest(sip.OPTIONS, target)
	transport := "UDP"
	if t, ok := target.UriParams.Get("transport"); ok && t != "" {
		transport = sip.NetworkToUpper(t)
	}
	req.SetTransport(transport)
	from := sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.cfg.UserAgent, Host: s.cfg.Domain}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port}}
	callID := sip.CallIDHeader(uuid.NewString())
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Host: s.cfg.AdvertisedHost, Params: sip.NewParams()}
	via.Params.Add("branch", s.branchPrefix+"."+sip.GenerateTagN(12))
	req.AppendHeader(via)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	contact := s.contactFor(transport)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	s.sendFromListener(req)
	start := time.Now()
	res, err := s.client.Do(ctx, req)
	if err != nil {
		return Pong{}, fmt.Errorf("sip: ping %s: %w", uri, err)
	}
	p := Pong{Status: res.StatusCode, Reason: res.Reason, RTT: time.Since(start)}
	if h := res.GetHeader("Server"); h != nil {
		p.Server = h.Value()
	} else if h := res.GetHeader("User-Agent"); h != nil {
		p.Server = h.Value()
	}
	if h := res.GetHeader("Allow"); h != nil {
		p.Allow = h.Value()
	}
	if b := res.Body(); len(b) > 0 {
		p.Body = append([]byte(nil), b[:min(len(b), 8<<10)]...)
		if h := res.GetHeader("Content-Type"); h != nil {
			p.ContentType = h.Value()
		}
	}
	return p, nil
}
