package sip

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// REFER (RFC 3515) in both directions, on the dialogs of our legs. A peer's
// REFER is handed to the leg's ReferFunc, which accepts it (202, then NOTIFY
// "100 Trying") or refuses it; the engine carries the transfer out and ends
// the implicit subscription with a final NOTIFY. A REFER we send waits for
// the peer's 2xx, and the peer's NOTIFYs report the progress (sipfrag).

// maxReferTo bounds the Refer-To value we parse.
const maxReferTo = 1024

// referNotifyTimeout bounds how long a NOTIFY waits for its answer.
const referNotifyTimeout = 8 * time.Second

// referSubscriptionExpires is what an active NOTIFY announces; the engine
// ends every accepted REFER with a final NOTIFY well before.
const referSubscriptionExpires = 120

// ReferFunc decides on a REFER the peer sent in a leg's dialog. It runs on
// the request's goroutine and must answer r with Accept or Reject before it
// returns (a REFER left unanswered is refused with 500); after Accept, the
// work may go on elsewhere and must end with a final r.Notify.
type ReferFunc func(ctx context.Context, r *Refer)

// Replaces is the dialog an attended transfer replaces (RFC 3891), from the
// Refer-To URI's Replaces header.
type Replaces struct {
	CallID, ToTag, FromTag string
}

// Refer is a REFER a peer sent in one of our dialogs.
type Refer struct {
	// Request is the REFER without its X-* headers; XHeaders are those.
	Request  *sip.Request
	XHeaders []Header
	// Target is the Refer-To URI without its headers part.
	Target string
	// ReferredBy is the Referred-By header value ("" when absent).
	ReferredBy string
	// Replaces is set for an attended transfer.
	Replaces *Replaces

	leg dialogLeg
	tx  sip.ServerTransaction
	srv *Server

	mu       sync.Mutex
	answered bool
	accepted bool
	final    bool
}

// Accept answers 202 Accepted and sends the first NOTIFY (100 Trying).
func (r *Refer) Accept(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answered {
		return errors.New("sip: REFER already answered")
	}
	r.answered, r.accepted = true, true
	contact := r.srv.contactFor(r.Request.Transport())
	r.srv.respond(r.Request, r.tx, sip.StatusAccepted, "Accepted", &contact)
	return r.notifyLocked(ctx, sip.StatusTrying, "Trying")
}

// Reject refuses the REFER with a final error status.
func (r *Refer) Reject(status int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answered {
		return
	}
	if status < 300 || status > 699 {
		status, reason = sip.StatusInternalServerError, "Server Internal Error"
	}
	r.answered = true
	r.srv.respond(r.Request, r.tx, status, reason)
}

// Notify reports the transfer's progress to the referrer: a status line in a
// message/sipfrag NOTIFY. A status of 200 or more ends the subscription;
// later calls do nothing.
func (r *Refer) Notify(ctx context.Context, status int, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.accepted || r.final {
		return nil
	}
	return r.notifyLocked(ctx, status, reason)
}

func (r *Refer) notifyLocked(ctx context.Context, status int, reason string) error {
	state := fmt.Sprintf("active;expires=%d", referSubscriptionExpires)
	if status >= 200 {
		r.final = true
		state = "terminated;reason=noresource"
	}
	req := sip.NewRequest(sip.NOTIFY, r.leg.remoteTarget())
	// The id (the REFER's CSeq) tells this REFER's subscription from an
	// earlier one in the same dialog (RFC 3515 2.4.6).
	event := "refer"
	if cs := r.Request.CSeq(); cs != nil {
		event += ";id=" + strconv.FormatUint(uint64(cs.SeqNo), 10)
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", status, sanitizeReason(reason))))
	nctx, cancel := context.WithTimeout(ctx, referNotifyTimeout)
	defer cancel()
	res, err := doInDialog(nctx, r.leg, req)
	if err != nil {
		return fmt.Errorf("sip: NOTIFY %d to referrer: %w", status, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sip: NOTIFY %d to referrer answered %d %s", status, res.StatusCode, res.Reason)
	}
	return nil
}

// sanitizeReason keeps a reason phrase on one line.
func sanitizeReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// dialogLeg is what REFER and NOTIFY need of a leg: InboundCall and
// OutboundCall.
type dialogLeg interface {
	readRequest(req *sip.Request, tx sip.ServerTransaction) error
	refers() *referState
	sendInDialog(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error)
	remoteTarget() sip.Uri
	sipCallID() string
}

func (c *InboundCall) readRequest(req *sip.Request, tx sip.ServerTransaction) error {
	return c.session.ReadRequest(req, tx)
}
func (c *InboundCall) refers() *referState { return &c.referState }
func (c *InboundCall) sipCallID() string   { return c.CallID }
func (c *InboundCall) remoteTarget() sip.Uri {
	if h := c.session.InviteRequest.Contact(); h != nil {
		return h.Address
	}
	return c.session.InviteRequest.From().Address
}
func (c *InboundCall) sendInDialog(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if !c.answered.Load() || c.EndReason() != "" {
		return nil, ErrCallEnded
	}
	return c.session.TransactionRequest(ctx, req)
}

func (c *OutboundCall) readRequest(req *sip.Request, tx sip.ServerTransaction) error {
	return c.session.ReadRequest(req, tx)
}
func (c *OutboundCall) refers() *referState { return &c.referState }
func (c *OutboundCall) sipCallID() string   { return c.CallID }
func (c *OutboundCall) remoteTarget() sip.Uri {
	if h := c.session.InviteResponse.Contact(); h != nil {
		return h.Address
	}
	return c.session.InviteRequest.Recipient
}
func (c *OutboundCall) sendInDialog(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if c.EndReason() != "" {
		return nil, ErrCallEnded
	}
	return c.session.TransactionRequest(ctx, req)
}

// doInDialog sends req in d's dialog and waits for its final answer.
func doInDialog(ctx context.Context, d dialogLeg, req *sip.Request) (*sip.Response, error) {
	tx, err := d.sendInDialog(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("transaction ended without an answer")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// referState is the REFER handling shared by both kinds of leg: the
// engine's hook for REFERs the peer sends, and the subscription of the
// REFER we sent last.
type referState struct {
	hook atomic.Pointer[ReferFunc]
	sub  atomic.Pointer[ReferProgress]
}

// OnRefer sets the function deciding on REFERs from the peer. Without one,
// a REFER is declined (603).
func (r *referState) OnRefer(f ReferFunc) { r.hook.Store(&f) }

// ReferProgress is the implicit subscription of a REFER we sent: the
// NOTIFYs the peer sends about the transfer it carries out.
type ReferProgress struct {
	updates chan referUpdate
}

type referUpdate struct {
	status     int
	reason     string
	terminated bool
}

// Wait returns the transfer's final status (the first sipfrag status of
// 200 or more, or the last one when the peer ended the subscription), or an
// error when ctx ends first.
func (p *ReferProgress) Wait(ctx context.Context) (status int, reason string, err error) {
	for {
		select {
		case u := <-p.updates:
			status, reason = u.status, u.reason
			if u.status >= 200 || u.terminated {
				return status, reason, nil
			}
		case <-ctx.Done():
			return status, reason, ctx.Err()
		}
	}
}

func (p *ReferProgress) deliver(u referUpdate) {
	select {
	case p.updates <- u:
	default: // a peer flooding NOTIFYs loses the surplus, never blocks us
	}
}

// Refer asks the peer to transfer itself to target (a REFER in the call's
// dialog, with headers added as given) and returns once the peer accepted
// it; the progress then arrives on the returned ReferProgress. A refusal is
// a *DialError.
func (c *InboundCall) Refer(ctx context.Context, target string, headers []Header) (*ReferProgress, error) {
	return c.srv.sendRefer(ctx, c, target, headers)
}

// Refer is InboundCall.Refer for an outbound leg.
func (c *OutboundCall) Refer(ctx context.Context, target string, headers []Header) (*ReferProgress, error) {
	return c.srv.sendRefer(ctx, c, target, headers)
}

func (s *Server) sendRefer(ctx context.Context, d dialogLeg, target string, headers []Header) (*ReferProgress, error) {
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return nil, fmt.Errorf("sip: refer target %q: %w", target, err)
	}
	req := sip.NewRequest(sip.REFER, d.remoteTarget())
	req.AppendHeader(sip.NewHeader("Refer-To", "<"+target+">"))
	req.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+s.cfg.UserAgent+"@"+s.cfg.Domain+">"))
	for _, h := range headers {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	p := &ReferProgress{updates: make(chan referUpdate, 16)}
	// Registered before the REFER goes out: the first NOTIFY may overtake
	// the 202 on UDP.
	prev := d.refers().sub.Swap(p)
	res, err := doInDialog(ctx, d, req)
	if err == nil && !res.IsSuccess() {
		err = &DialError{Status: res.StatusCode, Reason: res.Reason}
	}
	if err != nil {
		d.refers().sub.CompareAndSwap(p, prev)
		return nil, fmt.Errorf("sip: REFER to %s: %w", target, err)
	}
	return p, nil
}

// legFor returns the leg whose dialog req belongs to, or nil.
func (s *Server) legFor(req *sip.Request) dialogLeg {
	if c := s.inboundFor(req); c != nil {
		return c
	}
	if c := s.outboundFor(req); c != nil {
		return c
	}
	return nil
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("REFER").Inc()
	leg := s.legFor(req)
	if leg == nil {
		s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
		return
	}
	if err := leg.readRequest(req, tx); err != nil {
		s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	r, err := parseRefer(req)
	if err != nil {
		s.log.Info("REFER refused", "callId", leg.sipCallID(), "error", err)
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	f := leg.refers().hook.Load()
	if f == nil || *f == nil {
		s.respond(req, tx, 603, "Decline")
		return
	}
	r.leg, r.tx, r.srv = leg, tx, s
	s.log.Info("REFER received", "callId", leg.sipCallID(), "target", r.Target, "attended", r.Replaces != nil)
	(*f)(s.ctx, r)
	r.Reject(sip.StatusInternalServerError, "Server Internal Error") // a no-op once answered
}

// parseRefer reads the Refer-To (exactly one), Referred-By and an embedded
// Replaces of a REFER.
func parseRefer(req *sip.Request) (*Refer, error) {
	hs := req.GetHeaders("Refer-To")
	if len(hs) == 0 {
		hs = req.GetHeaders("r") // the compact form
	}
	if len(hs) != 1 {
		return nil, fmt.Errorf("want one Refer-To header, got %d", len(hs))
	}
	raw := strings.TrimSpace(hs[0].Value())
	if len(raw) > maxReferTo {
		return nil, fmt.Errorf("Refer-To longer than %d bytes", maxReferTo)
	}
	if i := strings.IndexByte(raw, '<'); i >= 0 {
		j := strings.IndexByte(raw[i:], '>')
		if j < 0 {
			return nil, errors.New("Refer-To: unterminated <")
		}
		raw = raw[i+1 : i+j]
	} else if i := strings.IndexByte(raw, ';'); i >= 0 {
		raw = raw[:i] // without <>, parameters belong to the header
	}
	target, query, _ := strings.Cut(raw, "?")
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return nil, fmt.Errorf("Refer-To %q: %w", target, err)
	}
	if u.Scheme != "sip" && u.Scheme != "sips" && u.Scheme != "tel" {
		return nil, fmt.Errorf("Refer-To scheme %q", u.Scheme)
	}
	clean, xs := stripXHeaders(req)
	r := &Refer{Request: clean, XHeaders: xs, Target: target}
	if h := req.GetHeader("Referred-By"); h != nil {
		r.ReferredBy = h.Value()
	}
	for _, kv := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(name, "Replaces") {
			continue
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return nil, fmt.Errorf("Refer-To Replaces: %w", err)
		}
		rep, err := parseReplaces(v)
		if err != nil {
			return nil, err
		}
		r.Replaces = rep
	}
	return r, nil
}

// parseReplaces reads "call-id;to-tag=a;from-tag=b" (RFC 3891).
func parseReplaces(v string) (*Replaces, error) {
	parts := strings.Split(v, ";")
	rep := &Replaces{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "to-tag":
			rep.ToTag = value
		case "from-tag":
			rep.FromTag = value
		}
	}
	if rep.CallID == "" || rep.ToTag == "" || rep.FromTag == "" {
		return nil, fmt.Errorf("Replaces %q needs a call-id, to-tag and from-tag", v)
	}
	return rep, nil
}

func (s *Server) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("NOTIFY").Inc()
	leg := s.legFor(req)
	if leg == nil {
		s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
		return
	}
	if err := leg.readRequest(req, tx); err != nil {
		s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	ev := req.GetHeader("Event")
	if ev == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ev.Value(), ";", 2)[0]), "refer") {
		s.respond(req, tx, 489, "Bad Event")
		return
	}
	p := leg.refers().sub.Load()
	if p == nil {
		s.respond(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	status, reason, ok := parseSipfrag(req.Body())
	if !ok {
		s.respond(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	terminated := false
	if h := req.GetHeader("Subscription-State"); h != nil {
		terminated = strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Value())), "terminated")
	}
	s.respond(req, tx, sip.StatusOK, "OK")
	p.deliver(referUpdate{status: status, reason: reason, terminated: terminated})
}

// parseSipfrag reads the status line of a message/sipfrag body.
func parseSipfrag(body []byte) (int, string, bool) {
	if len(body) > 256 {
		body = body[:256]
	}
	line, _, _ := strings.Cut(string(body), "\n")
	line = strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(line, "SIP/2.0 ")
	if !ok {
		return 0, "", false
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 699 {
		return 0, "", false
	}
	return n, reason, true
}

// DialogTags returns the call's dialog tags: ours and the peer's. An
// attended transfer names a dialog by its Call-ID and these two tags.
func (c *InboundCall) DialogTags() (local, remote string) {
	if res := c.session.InviteResponse; res != nil {
		local = headerTag(res.To())
	}
	return local, headerTag(c.session.InviteRequest.From())
}

// DialogTags is InboundCall.DialogTags for an outbound leg.
func (c *OutboundCall) DialogTags() (local, remote string) {
	return headerTag(c.session.InviteRequest.From()), headerTag(c.session.InviteResponse.To())
}

// Matches reports whether rep names the dialog with these tags, in either
// order: implementations differ on whose tag is the to-tag.
func (rep *Replaces) Matches(callID, local, remote string) bool {
	if rep == nil || rep.CallID != callID || local == "" || remote == "" {
		return false
	}
	return (rep.ToTag == local && rep.FromTag == remote) || (rep.ToTag == remote && rep.FromTag == local)
}
