package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/guard"
)

// Handler is the call engine as the front door sees it.
type Handler interface {
	// HandleInvite is called, in its own goroutine, for every INVITE that
	// passed all checks, after 100 Trying was sent. It may block for the
	// whole call or return early; the call lives until it is answered and
	// hung up, rejected, cancelled by the caller, or AnswerTimeout passes
	// without a final answer. ctx ends when the call ends.
	HandleInvite(ctx context.Context, call *InboundCall)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, call *InboundCall)

// HandleInvite calls f.
func (f HandlerFunc) HandleInvite(ctx context.Context, call *InboundCall) { f(ctx, call) }

// rejectLogBurst is how many refusals per second are logged at INFO.
const rejectLogBurst = 20

// maxLoggedURI bounds a Request-URI copied into a log line.
const maxLoggedURI = 256

// allowHeader lists what the server does: it is a B2BUA, not a registrar.
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY"

// Server is the SIP front door and the owner of every SIP leg.
type Server struct {
	cfg     Config
	log     *slog.Logger
	apps    Applications
	numbers Numbers // apps, when it also resolves phone numbers; else nil
	handler Handler

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	nonces *nonceSigner
	replay *replayCache
	// branchPrefix starts the Via branch of requests this node sends, so a
	// request that comes back is recognised as a loop.
	branchPrefix string

	lmu       sync.Mutex
	listeners map[*listenerState]struct{}
	starting  int

	inbound  sync.Map // dialog ID -> *InboundCall
	outbound sync.Map // dialog ID -> *OutboundCall

	// udpConns are the UDP listeners by local address, for answers the read
	// filter sends itself.
	udpConns sync.Map // string -> *net.UDPConn

	// rejectLogs samples the log lines of refused requests and connections,
	// so a flood cannot flood the log (the counts stay in metrics).
	rejectLogs *guard.Sampler

	ctx    context.Context // ends on Close; parent of every call context
	cancel context.CancelFunc
	calls  sync.WaitGroup // engine goroutines and call watchers
}

// Listener describes a bound SIP listener.
type Listener struct {
	Network string // udp, tcp, tls
	Addr    string // host:port actually bound
}

type listenerState struct {
	Listener
	port int
}

// NewServer builds a server with the given node settings, application
// lookup and call engine. When apps also implements Numbers, INVITEs to
// phone numbers are routed through it. Nothing listens until ListenAndServe.
func NewServer(cfg Config, apps Applications, h Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if apps == nil || h == nil {
		return nil, errors.New("sip: NewServer needs Applications and a Handler")
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("component", "sip")
	sipgoLog := slog.New(quietPeerErrors{cfg.Logger.Handler()}).With("component", "sipgo")

	var s *Server // the read filter needs the server, which needs the UA
	filter := func(p sip.TransportReadProps, data []byte) ([]byte, error) { return s.readFilter(p, data) }
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.Domain),
		sipgo.WithUserAgenTLSConfig(cfg.ClientTLS),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipgoLog)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipgoLog), sip.WithTransportLayerReadFilter(filter)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipgoLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipgoLog), sipgo.WithClientHostname(cfg.AdvertisedHost))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: client: %w", err)
	}

	mark := sha256.Sum256(append([]byte("wasmvoice-branch:"), cfg.NonceKey...))
	ctx, cancel := context.WithCancel(context.Background())
	s = &Server{
		cfg:          cfg,
		log:          log,
		apps:         apps,
		handler:      h,
		ua:           ua,
		srv:          srv,
		client:       client,
		nonces:       newNonceSigner(cfg.NonceKey, cfg.NonceTTL),
		replay:       newReplayCache(cfg.ReplayCacheSize, cfg.NonceTTL),
		branchPrefix: sip.RFC3261BranchMagicCookie + ".wv" + hex.EncodeToString(mark[:4]),
		listeners:    make(map[*listenerState]struct{}),
		rejectLogs:   guard.NewSampler(rejectLogBurst, time.Second),
		ctx:          ctx,
		cancel:       cancel,
	}

	s.numbers, _ = apps.(Numbers)

	srv.OnInvite(s.onInvite)
	srv.OnAck(s.onAck) // a challenge's ACK goes to the prelude: the read hook alone records it
	srv.OnBye(s.tracedFirst(s.onBye))
	srv.OnCancel(s.tracedFirst(s.onCancel))
	srv.OnOptions(s.onOptions)
	srv.OnRefer(s.tracedFirst(s.onRefer))
	srv.OnNotify(s.tracedFirst(s.onNotify))
	srv.OnNoRoute(s.onOther)
	ua.TransportLayer().OnMessage(s.traceRead)
	return s, nil
}

// Close ends every call without signalling (use Shutdown to hang up first)
// and closes the transports. Listeners end with their contexts.
func (s *Server) Close() error {
	s.cancel()
	return s.ua.Close()
}

// Shutdown refuses new INVITEs, hangs up every live call (BYE or 503 before
// answer) and waits for them until ctx ends, then closes the transports.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	var wg sync.WaitGroup
	s.inbound.Range(func(_, v any) bool {
		c := v.(*InboundCall)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.hangup(ctx, sip.StatusServiceUnavailable, "Service Unavailable", EndShutdown); err != nil {
				s.log.Debug("hangup on shutdown", "callId", c.CallID, "error", err)
			}
		}()
		return true
	})
	s.outbound.Range(func(_, v any) bool {
		c := v.(*OutboundCall)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.hangup(ctx, EndShutdown); err != nil {
				s.log.Debug("hangup on shutdown", "callId", c.CallID, "error", err)
			}
		}()
		return true
	})
	done := make(chan struct{})
	go func() { wg.Wait(); s.calls.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return errors.Join(err, s.ua.Close())
}

// Listeners returns the listeners currently bound.
func (s *Server) Listeners() []Listener {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	out := make([]Listener, 0, len(s.listeners))
	for l := range s.listeners {
		out = append(out, l.Listener)
	}
	return out
}

// Ready reports whether every ListenAndServe call made so far has its socket
// bound and serving (for /readyz). It is false before the first one.
func (s *Server) Ready() bool {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return len(s.listeners) > 0 && s.starting == 0
}

// respond answers req and drops its server transaction at once: nothing is
// kept for the request (retransmissions are simply answered again).
func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, status int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, status, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("write response", "status", status, "error", err)
	}
	tx.Terminate()
}

// authFailure are the refusals that count as failed authentications against
// their source (a guessed password, an application or number that is not
// there or not for this source).
var authFailure = map[string]bool{
	reasonBadCredentials: true, reasonAuthLocked: true, reasonUserMismatch: true, reasonUnknownApp: true,
	reasonUnknownNumber: true, reasonInboundDisabled: true, reasonRegion: true, reasonSourceIP: true,
}

// digestAlgorithms are the algorithms app challenges with and accepts:
// its own list, else the node's (also for requests to no application, so a
// challenge tells nothing about whether the application exists).
func (s *Server) digestAlgorithms(app *Application) []string {
	if app != nil && len(app.DigestAlgorithms) > 0 {
		return app.DigestAlgorithms
	}
	return s.cfg.DigestAlgorithms
}

// refuse answers a request the front door turned away, counts and logs it.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction, v verdict) {
	metricRejections.WithLabelValues(v.reason).Inc()
	level := slog.LevelInfo
	if v.challenge && v.reason == reasonNoCredentials {
		level = slog.LevelDebug // the normal first leg of every digest call
	}
	suppressed := int64(0)
	if level >= slog.LevelInfo && s.log.Enabled(s.ctx, level) {
		var ok bool
		if ok, suppressed = s.rejectLogs.Allow(); !ok {
			level = slog.LevelDebug
		}
	}
	if s.log.Enabled(s.ctx, level) {
		attrs := []any{"status", v.status, "reason", v.reason, "method", guard.Truncate(string(req.Method), 32), "source", req.Source(),
			"ruri", guard.Truncate(req.Recipient.String(), maxLoggedURI)}
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		if id := req.CallID(); id != nil {
			attrs = append(attrs, "sipCallId", guard.Truncate(id.Value(), maxLoggedURI))
		}
		// Which client failed helps more than anything else in the line
		// (the digest defaults suit some clients and not others).
		if ua := req.GetHeader("User-Agent"); ua != nil {
			attrs = append(attrs, "userAgent", guard.Truncate(ua.Value(), maxLoggedURI))
		}
		if v.app.ID != "" {
			attrs = append(attrs, "applicationId", v.app.ID, "accountId", v.app.AccountID)
		}
		if v.err != nil {
			attrs = append(attrs, "error", v.err)
		}
		s.log.Log(s.ctx, level, "sip request refused", attrs...)
	}

	s.reportRefusal(req, v)

	if g := s.cfg.Guard; g != nil && v.source.IsValid() && authFailure[v.reason] {
		target := ""
		if v.reason == reasonBadCredentials {
			target = v.target // a guess at this application's or number's password
		}
		g.AuthFailed(v.source.Addr(), target)
	}

	// Only a known application or number can be called once the challenge
	// is answered: a scanner's INVITE to nothing keeps no prelude.
	if v.challenge && req.Method == sip.INVITE && (v.app.ID != "" || v.owner.ID != "" || v.route != nil) {
		if id := req.CallID(); id != nil {
			startPrelude(id.Value(), s.traceEntryIn(req))
		}
	}

	bind := nonceBinding{target: v.target, source: v.source.Addr().Unmap(), realm: s.cfg.Domain}
	switch v.status {
	case sip.StatusProxyAuthRequired:
		nonce := s.nonces.issue(time.Now(), bind)
		s.respond(req, tx, v.status, "Proxy Authentication Required", challengeHeaders("Proxy-Authenticate", s.cfg.Domain, nonce, v.stale, s.digestAlgorithms(&v.app))...)
	case sip.StatusUnauthorized:
		// RFC 3261 requires a challenge on 401; it is the same for every
		// reason so the answer tells nothing about the application.
		nonce := s.nonces.issue(time.Now(), bind)
		s.respond(req, tx, v.status, "Unauthorized", challengeHeaders("WWW-Authenticate", s.cfg.Domain, nonce, false, s.digestAlgorithms(&v.app))...)
	case sip.StatusMethodNotAllowed:
		s.respond(req, tx, v.status, "Method Not Allowed", sip.NewHeader("Allow", allowMethods))
	default:
		s.respond(req, tx, v.status, reasonPhrase(v.status))
	}
}

func reasonPhrase(status int) string {
	switch status {
	case sip.StatusBadRequest:
		return "Bad Request"
	case 416:
		return "Unsupported URI Scheme"
	case 420:
		return "Bad Extension"
	case 505:
		return "Version Not Supported"
	case 513:
		return "Message Too Large"
	case sip.StatusForbidden:
		return "Forbidden"
	case sip.StatusNotFound:
		return "Not Found"
	case sip.StatusCallTransactionDoesNotExists:
		return "Call/Transaction Does Not Exist"
	case sip.StatusLoopDetected:
		return "Loop Detected"
	case sip.StatusTooManyHops:
		return "Too Many Hops"
	case sip.StatusInternalServerError:
		return "Server Internal Error"
	case sip.StatusNotImplemented:
		return "Not Implemented"
	case sip.StatusServiceUnavailable:
		return "Service Unavailable"
	}
	return "Error"
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("OPTIONS").Inc()
	s.respond(req, tx, sip.StatusOK, "Keepalive",
		sip.NewHeader("Allow", allowMethods),
		sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	// A CANCEL that matches a pending INVITE is answered by the transaction
	// layer (200, then 487 to the INVITE) and never gets here.
	metricRequests.WithLabelValues("CANCEL").Inc()
	s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("ACK").Inc()
	if c := s.inboundFor(req); c != nil {
		if err := c.session.ReadAck(req, tx); err != nil {
			s.log.Debug("ACK not for the last INVITE", "callId", c.CallID, "error", err)
		}
	}
	// ACKs to our stateless error responses have nothing to match; RFC 3261
	// says to drop them silently.
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues("BYE").Inc()
	if c := s.inboundFor(req); c != nil {
		c.setPending(EndRemoteBye)
		if err := c.session.ReadBye(req, tx); err != nil {
			s.log.Debug("BYE refused", "callId", c.CallID, "error", err)
			s.respond(req, tx, sip.StatusInternalServerError, "Server Internal Error")
		}
		return
	}
	if c := s.outboundFor(req); c != nil {
		c.setPending(EndRemoteBye)
		if err := c.session.ReadBye(req, tx); err != nil {
			s.log.Debug("BYE refused", "callId", c.CallID, "error", err)
		}
		return
	}
	s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
}

// onOther answers every method without its own handler: in-dialog requests
// for unknown dialogs get 481, known methods we do not serve 405 with Allow
// (REGISTER among them: this is not a registrar), unknown methods 501.
func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	metricRequests.WithLabelValues(methodLabel(string(req.Method))).Inc()
	known := methodLabel(string(req.Method)) != "other"
	if known && req.Method != sip.REGISTER && hasToTag(req) {
		if s.inboundFor(req) == nil && s.outboundFor(req) == nil {
			s.refuse(req, tx, reject(sip.StatusCallTransactionDoesNotExists, reasonNoDialog))
			return
		}
	}
	if known {
		s.refuse(req, tx, reject(sip.StatusMethodNotAllowed, reasonMethodNotAllowed))
		return
	}
	s.refuse(req, tx, reject(sip.StatusNotImplemented, reasonNotImplemented))
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

func (s *Server) inboundFor(req *sip.Request) *InboundCall {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	if v, ok := s.inbound.Load(id); ok {
		return v.(*InboundCall)
	}
	return nil
}

func (s *Server) outboundFor(req *sip.Request) *OutboundCall {
	id, err := sip.DialogIDFromRequestUAC(req)
	if err != nil {
		return nil
	}
	if v, ok := s.outbound.Load(id); ok {
		return v.(*OutboundCall)
	}
	return nil
}

// tracedFirst records an in-dialog request in its call's trace before h
// handles it. sipgo runs the transport's read hook (traceRead) after it
// has handed the request to its handler goroutine, so a BYE could end the
// call, and its trace be saved, before the hook recorded the BYE.
func (s *Server) tracedFirst(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.traceRead(req)
		h(req, tx)
	}
}

// traceRead records parsed incoming messages of traced calls (once, from
// whichever of the read hook and tracedFirst sees one first). The INVITE
// that starts a call is recorded by the call itself (it registers the
// trace).
func (s *Server) traceRead(msg sip.Message) {
	if tracesCount.Load() == 0 && preludeCount.Load() == 0 {
		return
	}
	var callID *sip.CallIDHeader
	var ours, theirs string
	switch m := msg.(type) {
	case *sip.Request:
		callID = m.CallID()
		ours, theirs = headerTag(m.To()), headerTag(m.From())
	case *sip.Response:
		callID = m.CallID()
		ours, theirs = headerTag(m.From()), headerTag(m.To())
	}
	if callID == nil {
		return
	}
	t := lookupTrace(callID.Value(), ours, theirs)
	if t == nil {
		// The ACK of a challenge, before the call's trace starts (the
		// INVITE with credentials is recorded by the call it starts).
		if r, ok := msg.(*sip.Request); ok && r.Method == sip.ACK && preludeCount.Load() > 0 {
			appendPrelude(callID.Value(), s.traceEntryIn(msg))
		}
		return
	}
	if t.initial == msg {
		return
	}
	t.addIn(msg, func() TraceEntry { return s.traceEntryIn(msg) })
}

func (s *Server) traceEntryIn(msg sip.Message) TraceEntry {
	return TraceEntry{Time: time.Now(), Direction: DirectionIn, Transport: msg.Transport(), Local: s.localAddr(msg.Transport()), Remote: msg.Source(), Message: msg.String()}
}

// localAddr returns the bound address of our listener for transport.
func (s *Server) localAddr(transport string) string {
	network := sip.NetworkToLower(transport)
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for l := range s.listeners {
		if l.Network == network {
			return l.Addr
		}
	}
	return ""
}

// contactFor returns our Contact for a leg on transport.
func (s *Server) contactFor(transport string) sip.ContactHeader {
	network := sip.NetworkToLower(transport)
	port := s.cfg.AdvertisedPort
	if port == 0 {
		// Our own registry: sipgo's GetListenPort reads its map unlocked.
		s.lmu.Lock()
		for l := range s.listeners {
			if l.Network == network {
				port = l.port
				break
			}
		}
		s.lmu.Unlock()
	}
	c := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: s.cfg.AdvertisedHost, Port: port}}
	if network != "udp" {
		c.Address.UriParams = sip.NewParams()
		c.Address.UriParams.Add("transport", network)
	}
	return c
}

// headerTag returns the tag parameter of a From or To header.
func headerTag[H interface {
	*sip.FromHeader | *sip.ToHeader
}](h H) string {
	switch v := any(h).(type) {
	case *sip.FromHeader:
		if v != nil {
			t, _ := v.Params.Get("tag")
			return t
		}
	case *sip.ToHeader:
		if v != nil {
			t, _ := v.Params.Get("tag")
			return t
		}
	}
	return ""
}
