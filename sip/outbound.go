package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// DialRequest describes an outbound call (a transfer leg or an API call).
type DialRequest struct {
	// URI is the target, e.g. "sip:+15551234@trunk.example.com:5060;transport=tcp".
	URI string
	// From is the caller's URI ("sip:+15550000@our.domain"); empty means
	// sip:<UserAgent>@<Domain>.
	From        string
	DisplayName string
	// Headers are added to the INVITE as given (X-* mapping is the caller's job).
	Headers []Header
	// Privacy hides the caller (RFC 3323/3325): the From header becomes
	// sip:anonymous@anonymous.invalid (display name DisplayName, else
	// "Anonymous"), the INVITE says Privacy: id, and From's URI goes in
	// P-Asserted-Identity for the trusted next hop (a trunk that bills or
	// screens the number) to use and strip.
	Privacy bool
	// SDP is the offer.
	SDP []byte
	// Username and Password answer a 401/407 digest challenge.
	Username, Password string
	// OnProvisional, when set, sees every 1xx response.
	OnProvisional func(status int, reason string, body []byte)
}

// DialError is returned by Dial when the callee answered with a final error
// response.
type DialError struct {
	Status int
	Reason string
}

func (e *DialError) Error() string {
	return fmt.Sprintf("sip: dial refused: %d %s", e.Status, e.Reason)
}

// TracedError is a failed Dial's error with the SIP trace of the attempt
// (the INVITE, any challenge and the final response).
type TracedError struct {
	Err   error
	Trace *Trace
}

func (e *TracedError) Error() string { return e.Err.Error() }

func (e *TracedError) Unwrap() error { return e.Err }

// DialTrace is the trace of the failed Dial whose error err wraps, or nil.
func DialTrace(err error) *Trace {
	var te *TracedError
	if errors.As(err, &te) {
		return te.Trace
	}
	return nil
}

// OutboundCall is a client leg placed with Dial, answered and ACKed.
type OutboundCall struct {
	CallID string
	// Response is the 200 OK that answered the INVITE; its body is the SDP
	// answer.
	Response *sip.Response

	srv     *Server
	session *sipgo.DialogClientSession
	trace   *Trace
	ctx     context.Context // ends with the leg; handed to the re-INVITE hook
	cancel  context.CancelFunc
	pending atomic.Pointer[EndReason]
	endOnce sync.Once
	done    chan struct{}
	reason  EndReason

	reinviteState
	referState
}

// AnswerSDP returns the callee's SDP answer.
func (c *OutboundCall) AnswerSDP() []byte { return c.Response.Body() }

// Done is closed when the leg has ended.
func (c *OutboundCall) Done() <-chan struct{} { return c.done }

// EndReason returns why the leg ended, or "" while it is alive.
func (c *OutboundCall) EndReason() EndReason {
	select {
	case <-c.done:
		return c.reason
	default:
		return ""
	}
}

// Trace returns the leg's SIP trace.
func (c *OutboundCall) Trace() *Trace { return c.trace }

// Hangup sends BYE and ends the leg.
func (c *OutboundCall) Hangup(ctx context.Context) error {
	return c.hangup(ctx, EndLocalBye)
}

func (c *OutboundCall) hangup(ctx context.Context, why EndReason) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.setPending(why)
	err := c.session.Bye(ctx)
	c.finish(why)
	if err != nil {
		return fmt.Errorf("sip: bye: %w", err)
	}
	return nil
}

func (c *OutboundCall) setPending(r EndReason) { c.pending.CompareAndSwap(nil, &r) }

func (c *OutboundCall) finish(r EndReason) {
	c.endOnce.Do(func() {
		if p := c.pending.Load(); p != nil {
			r = *p
		}
		c.reason = r
		c.srv.outbound.Delete(c.session.ID)
		metricCallsActive.Dec()
		// Done before the context: whoever sees the context end can
		// already read EndReason.
		close(c.done)
		c.cancel()
		t := c.trace
		time.AfterFunc(traceLinger, func() { stopTrace(t) })
		if err := c.session.Close(); err != nil {
			c.srv.log.Debug("close dialog", "callId", c.CallID, "error", err)
		}
	})
}

// Dial places an outbound call and returns once it is answered and ACKed.
// Cancelling ctx before the answer sends CANCEL. A final error response is
// returned as *DialError; a 401/407 is answered once with Username/Password.
// A failed attempt's error is a *TracedError carrying the attempt's trace
// (DialTrace finds it); the returned call's Trace covers the whole exchange.
func (s *Server) Dial(ctx context.Context, r DialRequest) (*OutboundCall, error) {
	var target sip.Uri
	if err := sip.ParseUri(r.URI, &target); err != nil {
		return nil, fmt.Errorf("sip: dial uri %q: %w", r.URI, err)
	}
	from := sip.FromHeader{DisplayName: r.DisplayName, Address: sip.Uri{Scheme: "sip", User: s.cfg.UserAgent, Host: s.cfg.Domain}}
	if r.From != "" {
		if err := sip.ParseUri(r.From, &from.Address); err != nil {
			return nil, fmt.Errorf("sip: dial from %q: %w", r.From, err)
		}
	}
	var asserted *sip.Uri
	if r.Privacy {
		real := from.Address
		asserted = &real
		from.Address = sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}
		if from.DisplayName == "" {
			from.DisplayName = "Anonymous"
		}
	}
	to := sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host}}
	req := s.newRequest(sip.INVITE, target, from, to)
	fromTag, _ := req.From().Params.Get("tag")
	callID := sip.CallIDHeader(req.CallID().Value())
	contact := *req.Contact()
	if asserted != nil {
		req.AppendHeader(sip.NewHeader("Privacy", "id"))
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<"+asserted.String()+">"))
	}
	for _, h := range r.Headers {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	if r.SDP != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(r.SDP)
	s.sendFromListener(req)

	trace := startTrace(string(callID), fromTag, nil)
	fail := func(err error) (*OutboundCall, error) {
		stopTrace(trace)
		return nil, &TracedError{Err: err, Trace: trace}
	}
	dua := &sipgo.DialogUA{Client: s.client, ContactHDR: contact}
	session, err := dua.WriteInvite(ctx, req)
	if err != nil {
		return fail(fmt.Errorf("sip: send INVITE to %s: %w", r.URI, err))
	}
	err = session.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: r.Username,
		Password: r.Password,
		OnResponse: func(res *sip.Response) error {
			if res.IsProvisional() && r.OnProvisional != nil {
				r.OnProvisional(res.StatusCode, res.Reason, res.Body())
			}
			return nil
		},
	})
	if err != nil {
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			return fail(&DialError{Status: de.Res.StatusCode, Reason: de.Res.Reason})
		}
		if ctx.Err() != nil {
			return fail(fmt.Errorf("sip: dial %s cancelled: %w", r.URI, ctx.Err()))
		}
		return fail(fmt.Errorf("sip: dial %s: %w", r.URI, err))
	}
	lctx, lcancel := context.WithCancel(s.ctx)
	c := &OutboundCall{CallID: string(callID), Response: session.InviteResponse, srv: s, session: session, trace: trace, ctx: lctx, cancel: lcancel, done: make(chan struct{})}
	c.setLocalSDP(r.SDP)
	s.outbound.Store(session.ID, c)
	metricCallsActive.Inc()
	// Weak, as for inbound calls: the dialog may outlive the call in
	// sipgo's transactions; s.outbound holds the call until it ends.
	wc := weak.Make(c)
	session.OnState(func(st sip.DialogState) {
		if c := wc.Value(); st == sip.DialogStateEnded && c != nil {
			c.finish(EndRemoteBye)
		}
	})
	if err := session.Ack(ctx); err != nil {
		c.setPending(EndFailed)
		_ = c.hangup(context.WithoutCancel(ctx), EndFailed)
		return nil, fmt.Errorf("sip: ACK to %s: %w", r.URI, err)
	}
	return c, nil
}

// newRequest builds a request we originate to target: the transport its
// URI names (UDP by default), our Via, from with a new tag, to, a new
// Call-ID and our Contact for that transport. The Via branch is marked, so
// the front door spots one of our requests that loops back.
func (s *Server) newRequest(method sip.RequestMethod, target sip.Uri, from sip.FromHeader, to sip.ToHeader) *sip.Request {
	req := sip.NewRequest(method, target)
	transport := "UDP"
	if target.UriParams != nil {
		if t, ok := target.UriParams.Get("transport"); ok && t != "" {
			transport = sip.NetworkToUpper(t)
		}
	}
	req.SetTransport(transport)
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(uuid.NewString())
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Host: s.cfg.AdvertisedHost, Params: sip.NewParams()}
	via.Params.Add("branch", s.branchPrefix+"."+sip.GenerateTagN(12))
	req.AppendHeader(via)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	contact := s.contactFor(transport)
	req.AppendHeader(&contact)
	return req
}
