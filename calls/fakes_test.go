package calls

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// The engine's tests run it with fakes behind its interfaces: no SIP
// listener, no HTTP. The store is a real SQLite file and media a real relay
// on 127.0.0.1 (ports above the kernel's ephemeral range, which no other
// package's tests use), since both are local and cheap.

// bed is an engine with fakes, one account and one application.
type bed struct {
	t      *testing.T
	e      *Engine
	store  *store.Store
	source *fakeSource
	hooks  *fakeHooks
	trunks *fakeTrunks
	dialer *fakeDialer
	acct   string
	app    store.Application
}

func newBed(t *testing.T, limits ...Limits) *bed {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDatabase(ctx, t.TempDir(), testenv.StoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, store.Application{AccountID: acct.ID, Name: "test",
		CallInitiatedCallbackURL: "http://app.test/initiate", CallStatusCallbackURL: "http://app.test/status"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := media.NewManager(media.Config{AdvertisedIP: netip.MustParseAddr("127.0.0.1"), BindIP: netip.MustParseAddr("127.0.0.1"),
		PortMin: 61000, PortMax: 61999, IdleTimeout: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, store: st, source: newFakeSource(), hooks: &fakeHooks{}, trunks: &fakeTrunks{},
		dialer: &fakeDialer{t: t}, acct: acct.ID, app: app}
	b.e = New(Config{Store: st, Media: m, Source: b.source, Hooks: b.hooks, Trunks: b.trunks, Dialer: b.dialer,
		BaseURL: "http://api.test", SIPDomain: "sip.test", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if len(limits) > 0 {
		b.e.limits = limits[0]
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.e.Shutdown(ctx); err != nil {
			t.Errorf("engine shutdown: %v", err)
		}
		// Every path a test took (refusals, hang-ups, failures) gave
		// back its media ports.
		if n := m.Pool().InUse(); n != 0 {
			t.Errorf("%d media ports still taken after every call ended", n)
		}
	})
	return b
}

// invite starts an inbound call to the bed's application from a fake leg
// and returns the leg and a channel closed when the engine is done with it.
func (b *bed) invite(leg *fakeInbound) <-chan struct{} {
	b.t.Helper()
	return b.inviteFrom(leg, netip.MustParseAddrPort("127.0.0.1:5062"))
}

// inviteFrom is invite from the source address src.
func (b *bed) inviteFrom(leg *fakeInbound, src netip.AddrPort) <-chan struct{} {
	b.t.Helper()
	req := sipgo.NewRequest(sipgo.INVITE, sipgo.Uri{User: b.app.ID, Host: "sip.test"})
	req.AppendHeader(&sipgo.FromHeader{Address: sipgo.Uri{User: "+15550001111", Host: "caller.test"}, Params: sipgo.NewParams()})
	req.AppendHeader(&sipgo.ToHeader{Address: sipgo.Uri{User: b.app.ID, Host: "sip.test"}, Params: sipgo.NewParams()})
	req.SetBody(peerSDP(b.t))
	return b.run(leg, Invite{Invite: callflow.Invite{Request: req, Source: src},
		ApplicationID: b.app.ID, CallID: "sip-call-1"})
}

// run hands inv to the engine on leg, as the front door does.
func (b *bed) run(leg *fakeInbound, inv Invite) <-chan struct{} {
	b.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.e.handleInbound(leg.ctx, leg, inv)
	}()
	b.t.Cleanup(func() {
		leg.end(sip.EndShutdown)
		<-done
	})
	return done
}

// record waits for the call record of callID to be saved.
func (b *bed) record(callID string) store.CallRecord {
	b.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec, err := b.store.Call(context.Background(), b.acct, callID)
		if err == nil {
			return rec
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no record of call %s: %v", callID, err)
		}
	}
}

// peerSDP is an offer or answer of a phone listening on a real socket (which
// nothing reads: the tests look at signalling, not audio).
func peerSDP(t *testing.T) []byte {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	port := c.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", port))
}

// fakeSource answers events with the BXML its test set per event type and
// records every request.
type fakeSource struct {
	mu     sync.Mutex
	bxml   map[bxml.EventType]string
	block  map[bxml.EventType]bool // wait for the call to end instead
	vars   map[string]string       // set on the call with every answer, as a module's decision does
	reqs   []callflow.Request
	taken  map[bxml.EventType]int // by wait
	notify chan struct{}          // a request arrived
}

func newFakeSource() *fakeSource {
	return &fakeSource{bxml: map[bxml.EventType]string{}, block: map[bxml.EventType]bool{}, taken: map[bxml.EventType]int{}, notify: make(chan struct{}, 1)}
}

func (s *fakeSource) answer(t bxml.EventType, doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bxml[t] = doc
}

func (s *fakeSource) Fetch(ctx context.Context, req callflow.Request) (callflow.Reply, error) {
	typ := req.Event.Type()
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	doc, block, vars := s.bxml[typ], s.block[typ], s.vars
	s.mu.Unlock()
	if vars != nil {
		req.Call.SetVariables(vars)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if block {
		<-ctx.Done()
		return callflow.Reply{}, ctx.Err()
	}
	if doc == "" {
		return callflow.Reply{}, nil
	}
	d, err := bxml.Parse([]byte(doc))
	if err != nil {
		return callflow.Reply{}, err
	}
	return callflow.Reply{Doc: d, URL: req.Target.URL}, nil
}

// wait returns the next request of type typ not returned before, or fails
// the test. Notifications go out on their own goroutines, so requests of
// different types may arrive in any order.
func (s *fakeSource) wait(t *testing.T, typ bxml.EventType) callflow.Request {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		seen := 0
		for _, r := range s.reqs {
			if r.Event.Type() != typ {
				continue
			}
			if seen == s.taken[typ] {
				s.taken[typ]++
				s.mu.Unlock()
				return r
			}
			seen++
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func (s *fakeSource) types() []bxml.EventType {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bxml.EventType
	for _, r := range s.reqs {
		out = append(out, r.Event.Type())
	}
	return out
}

// fakeLeg is the Leg part of the fake SIP legs.
type fakeLeg struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	hungUp  int
	endOnce sync.Once
	done    chan struct{}
	reason  sip.EndReason
}

func newFakeLeg() fakeLeg {
	ctx, cancel := context.WithCancel(context.Background())
	return fakeLeg{ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// end ends the leg as the SIP side would (BYE, CANCEL, ...).
func (l *fakeLeg) end(r sip.EndReason) {
	l.endOnce.Do(func() {
		l.mu.Lock()
		l.reason = r
		l.mu.Unlock()
		close(l.done)
		l.cancel()
	})
}

func (l *fakeLeg) Hangup(context.Context) error {
	l.mu.Lock()
	l.hungUp++
	l.mu.Unlock()
	l.end(sip.EndLocalBye)
	return nil
}

func (l *fakeLeg) Done() <-chan struct{} { return l.done }

func (l *fakeLeg) EndReason() sip.EndReason {
	select {
	case <-l.done:
	default:
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason
}

func (l *fakeLeg) Trace() *sip.Trace { return nil }

func (l *fakeLeg) hangups() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hungUp
}

// fakeInbound is an accepted INVITE.
type fakeInbound struct {
	fakeLeg
	answerSDP  []byte
	progressed int
	rejected   int // the status, 0 when not rejected
	reason     string
	rejectHdrs []sip.Header
	answered   chan struct{}
}

var _ InboundLeg = (*fakeInbound)(nil)

func newFakeInbound() *fakeInbound {
	return &fakeInbound{fakeLeg: newFakeLeg(), answered: make(chan struct{})}
}

func (l *fakeInbound) Answer(_ context.Context, sdp []byte) error {
	l.mu.Lock()
	l.answerSDP = sdp
	l.mu.Unlock()
	close(l.answered)
	return nil
}

func (l *fakeInbound) Progress([]byte) error {
	l.mu.Lock()
	l.progressed++
	l.mu.Unlock()
	return nil
}

func (l *fakeInbound) Reject(status int, reason string, headers ...sip.Header) error {
	l.mu.Lock()
	l.rejected, l.reason, l.rejectHdrs = status, reason, headers
	l.mu.Unlock()
	l.end(sip.EndRejected)
	return nil
}

func (l *fakeInbound) rejection() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rejected, l.reason
}

// fakeOutbound is an answered outbound leg.
type fakeOutbound struct {
	fakeLeg
	callID string
	answer []byte
}

func (l *fakeOutbound) CallID() string         { return l.callID }
func (l *fakeOutbound) AnswerSDP() []byte      { return l.answer }
func (l *fakeOutbound) Source() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:5090") }

// fakeDialer answers every INVITE at once (or refuses it with refuse) and
// records the requests.
type fakeDialer struct {
	t      *testing.T
	mu     sync.Mutex
	reqs   []sip.DialRequest
	legs   []*fakeOutbound
	refuse *sip.DialError
	dialed chan *fakeOutbound
	// ring, when set, makes every INVITE ring until its context ends
	// (each is announced on ringing).
	ring    bool
	ringing chan sip.DialRequest
}

func (d *fakeDialer) Dial(ctx context.Context, r sip.DialRequest) (OutboundLeg, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, r)
	if d.ring {
		d.mu.Unlock()
		if d.ringing != nil {
			d.ringing <- r
		}
		<-ctx.Done()
		return nil, fmt.Errorf("dial cancelled: %w", ctx.Err())
	}
	defer d.mu.Unlock()
	if d.refuse != nil {
		return nil, d.refuse
	}
	leg := &fakeOutbound{fakeLeg: newFakeLeg(), callID: fmt.Sprintf("out-%d", len(d.reqs)), answer: peerSDP(d.t)}
	d.legs = append(d.legs, leg)
	if d.dialed != nil {
		d.dialed <- leg
	}
	return leg, nil
}

func (d *fakeDialer) requests() []sip.DialRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sip.DialRequest(nil), d.reqs...)
}

// fakeTrunks routes every E.164 number to one SIP URI, or refuses numbers
// when noRoute is set.
type fakeTrunks struct {
	mu      sync.Mutex
	noRoute bool
	routed  []RouteRequest
	vars    map[string]string // Inbound's variables
	codecs  media.CodecList   // Inbound's codecs
}

func (f *fakeTrunks) Route(_ context.Context, r RouteRequest) (DialTarget, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routed = append(f.routed, r)
	if f.noRoute {
		return DialTarget{}, fmt.Errorf("%w for %s", ErrNoRoute, r.Number)
	}
	return DialTarget{URI: "sip:" + r.Number + "@trunk.test", Username: "acme", Password: "pw",
		Headers: []sip.Header{{Name: "X-Trunk", Value: r.Variables["tenant"]}},
		Route:   store.CallSIPRoute{PhoneNumber: r.Number, ConfigurationID: "cfg-" + r.Number, TrunkID: "trunk-1"}}, nil
}

func (f *fakeTrunks) Inbound(context.Context, *sip.NumberRoute, map[string][]string) (TrunkInbound, error) {
	return TrunkInbound{Variables: f.vars, Codecs: f.codecs}, nil
}

// fakeHooks answers sip.inbound with inbound and adds a header to every
// outbound INVITE.
type fakeHooks struct {
	inbound callflow.InviteDecision
}

func (h *fakeHooks) SIPInbound(context.Context, callflow.Call, callflow.Invite) callflow.InviteDecision {
	return h.inbound
}

func (h *fakeHooks) SIPOutbound(_ context.Context, _ callflow.Call, _, _ string, headers []sip.Header) ([]sip.Header, error) {
	return append(headers, sip.Header{Name: "X-Hook", Value: "seen"}), nil
}

func (h *fakeHooks) SIPRefer(context.Context, callflow.Call, callflow.ReferRequest) callflow.ReferDecision {
	return callflow.ReferDecision{}
}
