package server

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

var (
	callsLive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_calls_live", Help: "Calls up right now.",
	})
	callsEnded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_calls_ended_total", Help: "Ended calls by direction and disconnect cause.",
	}, []string{"direction", "cause"})
)

// Engine owns every live call: it answers accepted INVITEs, places
// outbound calls, and runs each call's BXML program in the call's own
// goroutine.
type Engine struct {
	store     *store.Store
	sip       *sip.Server
	media     *media.Manager
	source    callflow.Source
	wasm      *wasmEngine // nil: no module runs (tests of the engine alone)
	log       *slog.Logger
	baseURL   string // of the Voice API, for callUrl
	sipDomain string
	dataDir   string

	regs regsHolder // REGISTER bindings to customers' PBXes (trunk_register.go)

	mu    sync.Mutex
	calls map[string]*Call
	wg    sync.WaitGroup
}

// EngineConfig wires an Engine.
type EngineConfig struct {
	Store     *store.Store
	Media     *media.Manager
	Source    callflow.Source
	BaseURL   string
	SIPDomain string
	DataDir   string
	Logger    *slog.Logger
}

// NewEngine makes an engine; SetSIP gives it the SIP server (which in turn
// needs the engine as its Handler).
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{
		store: cfg.Store, media: cfg.Media, source: cfg.Source, log: cfg.Logger.With("caller", "engine"),
		baseURL: cfg.BaseURL, sipDomain: cfg.SIPDomain, dataDir: cfg.DataDir, calls: make(map[string]*Call),
	}
}

// SetSIP sets the SIP server used for outbound legs.
func (e *Engine) SetSIP(s *sip.Server) { e.sip = s }

var _ sip.Handler = (*Engine)(nil)

// HandleInvite runs an accepted inbound call to its end.
func (e *Engine) HandleInvite(ctx context.Context, in *sip.InboundCall) {
	app, err := e.store.ApplicationByID(ctx, in.Application.ID)
	if err != nil {
		e.log.Error("inbound call: application vanished", "application_id", in.Application.ID, "err", err)
		in.Reject(480, "Temporarily Unavailable")
		return
	}
	c := newCall(e, app, "inbound")
	c.sipIn = in
	c.info.From = uriUser(in.Request.From().Address.String())
	c.info.To = in.Request.Recipient.String()
	c.sipCallID = in.CallID
	c.applyTrunkInbound(ctx)
	if !c.sipInboundHook(ctx) {
		return
	}
	if !e.add(c) {
		in.Reject(503, "Service Unavailable")
		return
	}
	defer e.remove(c)
	c.runInbound(ctx)
}

func (e *Engine) add(c *Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		return false // shut down
	}
	e.calls[c.id] = c
	e.wg.Add(1)
	callsLive.Inc()
	return true
}

func (e *Engine) remove(c *Call) {
	e.mu.Lock()
	delete(e.calls, c.id)
	e.mu.Unlock()
	callsLive.Dec()
	e.wg.Done()
}

// Call returns a live call of the account.
func (e *Engine) Call(accountID, id string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[id]
	if !ok || c.app.AccountID != accountID {
		return nil, false
	}
	return c, true
}

// LiveCalls returns a snapshot of the account's live calls.
func (e *Engine) LiveCalls(accountID string) []store.CallRecord {
	e.mu.Lock()
	cs := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		if c.app.AccountID == accountID {
			cs = append(cs, c)
		}
	}
	e.mu.Unlock()
	out := make([]store.CallRecord, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Snapshot())
	}
	return out
}

// Shutdown hangs up every live call and waits for their goroutines (or
// ctx) to end.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	calls := e.calls
	e.calls = nil
	e.mu.Unlock()
	for _, c := range calls {
		c.end(bxml.CauseHangup, "server shutting down")
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
