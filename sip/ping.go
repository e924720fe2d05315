package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
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
	from := sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.cfg.UserAgent, Host: s.cfg.Domain}}
	to := sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port}}
	req := s.newRequest(sip.OPTIONS, target, from, to)
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
