package wasmhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// PoolConfig configures the warm instances of one module for one
// application. Pools are per application binding, not shared between
// applications, so guest global state never crosses applications.
type PoolConfig struct {
	// Name identifies the module in logs and errors (e.g. "ivr@1a2b3c").
	Name string
	// App is the application id; it namespaces the KV store.
	App string
	// Limits are the application's overrides: zero fields take the node
	// defaults, and everything is clamped to the node maxima.
	Limits Limits
	// Warm is how many idle instances the pool keeps ready (default 1).
	Warm int
	// MaxInstances caps live instances, hence concurrent events (default
	// 16); Handle waits (bounded by its ctx) when all are busy.
	MaxInstances int
	Logger       *slog.Logger
}

// Pool keeps warm instances of a module and runs events on them. It is safe
// for concurrent use; each instance runs one event at a time.
type Pool struct {
	host   *Host
	mod    *Module
	cfg    PoolConfig
	limits Limits
	log    *slog.Logger

	slots chan struct{} // one token per event in flight
	wake  chan struct{} // nudges the refiller
	avail chan struct{} // an instance became idle or live went down

	mu     sync.Mutex
	idle   []*instance
	live   int
	closed bool

	stop context.CancelFunc // ends the refiller's context
	done chan struct{}      // closed when the refiller has returned

	// unhandled holds the event types this module answered Unhandled: it
	// has no handler for them, so they are answered here without a run.
	// Keys are the host's event types, a small fixed set.
	unhandled sync.Map
}

// Stats is a snapshot of a pool.
type Stats struct {
	Live, Idle int
}

// HandleOption adjusts one Handle call.
type HandleOption func(*handleOptions)

type handleOptions struct{ logger *slog.Logger }

// WithLogger sends the guest's log, stdout and stderr for this event to l
// (the call's logger), with a "module" attribute added.
func WithLogger(l *slog.Logger) HandleOption {
	return func(o *handleOptions) { o.logger = l }
}

// NewPool starts a pool and its first instance (so a module that cannot
// start under the application's limits fails here, not on a call), then
// keeps Warm instances ready in the background until Close.
func (h *Host) NewPool(ctx context.Context, m *Module, cfg PoolConfig) (*Pool, error) {
	if cfg.Warm <= 0 {
		cfg.Warm = 1
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = 16
	}
	cfg.Warm = min(cfg.Warm, cfg.MaxInstances)
	if cfg.Logger == nil {
		cfg.Logger = h.cfg.Logger
	}
	if cfg.Name == "" {
		cfg.Name = m.meta.SHA256[:min(12, len(m.meta.SHA256))]
	}
	limits := h.Limits(cfg.Limits)
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if m.meta.MemoryPages > limits.MemoryPages {
		return nil, fmt.Errorf("wasmhost: pool %s: %w: module starts with %d pages, the application cap is %d",
			cfg.Name, ErrMemoryLimit, m.meta.MemoryPages, limits.MemoryPages)
	}
	p := &Pool{
		host:   h,
		mod:    m,
		cfg:    cfg,
		limits: limits,
		log:    cfg.Logger.With("caller", "wasmhost.Pool", "module", cfg.Name, "applicationId", cfg.App),
		slots:  make(chan struct{}, cfg.MaxInstances),
		wake:   make(chan struct{}, 1),
		avail:  make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	first, err := h.instantiate(ctx, m, limits, cfg.Name, p.log)
	if err != nil {
		return nil, fmt.Errorf("wasmhost: pool %s: %w", cfg.Name, err)
	}
	p.idle, p.live = []*instance{first}, 1
	refillCtx, stop := context.WithCancel(context.Background())
	p.stop = stop
	go p.refill(refillCtx)
	p.nudge()
	return p, nil
}

// Limits returns the pool's effective limits.
func (p *Pool) Limits() Limits { return p.limits }

// Stats returns live and idle instance counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Live: p.live, Idle: len(p.idle)}
}

// Handle runs one event and returns the guest's decision. Errors are
// *EventError values (match with errors.Is against ErrTimeout, ErrTrap,
// ErrMemoryLimit, ErrBadDecision, ErrGuest, ErrCanceled, ErrInstantiate),
// or ErrPoolClosed / ErrEventTooLarge. For ErrGuest the decision (with its
// Error) is returned too.
func (p *Pool) Handle(ctx context.Context, ev sdk.Event, opts ...HandleOption) (sdk.Decision, error) {
	if ev.V == 0 {
		ev.V = sdk.ABIVersion
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return sdk.Decision{}, fmt.Errorf("wasmhost: encode event: %w", err)
	}
	return p.HandleJSON(ctx, ev.Type, raw, opts...)
}

// SkipUnhandled reports whether the module answered an event of type t
// Unhandled before (it has no handler for it), counting the event as
// answered without a run when so. A caller may check it before encoding
// the event; HandleJSON checks it too.
func (p *Pool) SkipUnhandled(t sdk.EventType) bool {
	if _, ok := p.unhandled.Load(t); ok {
		eventsTotal.WithLabelValues("unhandled").Inc()
		return true
	}
	return false
}

// HandleJSON is Handle for an event already in its wire form (a JSON object
// with "v":1 and "event" equal to t).
func (p *Pool) HandleJSON(ctx context.Context, t sdk.EventType, event []byte, opts ...HandleOption) (sdk.Decision, error) {
	if p.SkipUnhandled(t) {
		return sdk.Decision{V: sdk.ABIVersion, Unhandled: true}, nil
	}
	start := time.Now()
	d, err := p.handle(ctx, t, event, opts)
	eventSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		eventsTotal.WithLabelValues("error").Inc()
		errorsTotal.WithLabelValues(kindLabel(err)).Inc()
	} else {
		eventsTotal.WithLabelValues("ok").Inc()
	}
	return d, err
}

func (p *Pool) handle(ctx context.Context, t sdk.EventType, event []byte, opts []HandleOption) (sdk.Decision, error) {
	if len(event) > p.limits.MaxEventBytes {
		return sdk.Decision{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrEventTooLarge, len(event), p.limits.MaxEventBytes)
	}
	var o handleOptions
	for _, opt := range opts {
		opt(&o)
	}
	logger := p.log
	if o.logger != nil {
		logger = o.logger.With("module", p.cfg.Name)
	}

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return sdk.Decision{}, &EventError{Kind: ErrCanceled, Module: p.cfg.Name, Detail: "waiting for a free instance: " + ctx.Err().Error()}
	}
	defer func() { <-p.slots }()
	if err := ctx.Err(); err != nil {
		// Running now would only get a healthy instance killed.
		return sdk.Decision{}, &EventError{Kind: ErrCanceled, Module: p.cfg.Name, Detail: err.Error()}
	}

	inst, err := p.acquire(ctx)
	if err != nil {
		return sdk.Decision{}, err
	}
	ectx, cancel := context.WithTimeout(ctx, p.limits.Timeout)
	defer cancel()
	cs := &callState{event: event, limits: &p.limits, app: p.cfg.App, kv: p.host.cfg.KV, logger: logger}
	out, healthy, err := inst.run(ectx, cs, p.cfg.Name)
	if err != nil {
		p.release(inst, false)
		return sdk.Decision{}, err
	}
	d, err := decodeDecision(out, t)
	if err != nil {
		p.release(inst, false)
		return sdk.Decision{}, &EventError{Kind: ErrBadDecision, Module: p.cfg.Name, Detail: err.Error()}
	}
	if d.Unhandled {
		p.unhandled.Store(t, struct{}{})
	}
	p.release(inst, healthy)
	if d.Error != "" {
		return d, &EventError{Kind: ErrGuest, Module: p.cfg.Name, Detail: d.Error}
	}
	return d, nil
}

// acquire takes an idle instance, or starts one when none is idle. When the
// refiller is already starting the last instance MaxInstances allows, it
// waits for that one instead of going past the cap.
func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			more := len(p.idle) > 0
			p.mu.Unlock()
			if more {
				p.signalAvail() // pass a coalesced wake-up on to the next waiter
			}
			p.nudge()
			return inst, nil
		}
		if p.live < p.cfg.MaxInstances {
			p.live++
			p.mu.Unlock()
			p.nudge()
			return p.startInline(ctx)
		}
		p.mu.Unlock()
		select {
		case <-p.avail:
		case <-time.After(availRecheck):
		case <-ctx.Done():
			return nil, &EventError{Kind: ErrCanceled, Module: p.cfg.Name, Detail: "waiting for an instance to start: " + ctx.Err().Error()}
		}
	}
}

func (p *Pool) startInline(ctx context.Context) (*instance, error) {
	inst, err := p.host.instantiate(ctx, p.mod, p.limits, p.cfg.Name, p.log)
	if err != nil {
		p.mu.Lock()
		p.live--
		p.mu.Unlock()
		p.signalAvail()
		if errors.Is(err, ErrInstantiate) {
			return nil, &EventError{Kind: ErrInstantiate, Module: p.cfg.Name, Detail: err.Error()}
		}
		return nil, &EventError{Kind: ErrCanceled, Module: p.cfg.Name, Detail: err.Error()}
	}
	return inst, nil
}

// signalAvail wakes one acquire waiting for an instance (an idle one, or room
// to start one).
func (p *Pool) signalAvail() {
	select {
	case p.avail <- struct{}{}:
	default:
	}
}

// release returns a healthy instance to the pool, and closes anything else:
// an instance that trapped, timed out or misbehaved is never reused.
func (p *Pool) release(inst *instance, healthy bool) {
	p.mu.Lock()
	keep := healthy && !p.closed && !inst.mod.IsClosed() && len(p.idle) < p.cfg.MaxInstances
	if keep {
		p.idle = append(p.idle, inst)
	} else {
		p.live--
	}
	p.mu.Unlock()
	p.signalAvail()
	if !keep {
		inst.close(context.Background())
		p.nudge()
	}
}

func (p *Pool) nudge() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// availRecheck bounds a wait for an instance should a wake-up be missed.
const availRecheck = 10 * time.Millisecond

// refillBackoff spaces out retries when instances fail to start.
const refillBackoff = time.Second

// refill keeps Warm instances idle, so the per-event path does not
// instantiate once warm. It runs until Close.
func (p *Pool) refill(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			need := !p.closed && len(p.idle) < p.cfg.Warm && p.live < p.cfg.MaxInstances
			if need {
				p.live++
			}
			p.mu.Unlock()
			if !need {
				break
			}
			inst, err := p.host.instantiate(ctx, p.mod, p.limits, p.cfg.Name, p.log)
			p.mu.Lock()
			if err != nil {
				p.live--
				p.mu.Unlock()
				p.signalAvail()
				if ctx.Err() != nil {
					return
				}
				p.log.Warn("refill: instance failed to start", "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(refillBackoff):
				}
				break
			}
			if p.closed {
				p.live--
				p.mu.Unlock()
				inst.close(context.Background())
				return
			}
			p.idle = append(p.idle, inst)
			p.mu.Unlock()
			p.signalAvail()
		}
	}
}

// Close stops the refiller and closes idle instances; instances busy with an
// event are closed when it ends. Handle returns ErrPoolClosed afterwards.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.live -= len(idle)
	p.mu.Unlock()
	p.stop()
	for _, inst := range idle {
		inst.close(ctx)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wasmhost: close pool %s: %w", p.cfg.Name, ctx.Err())
	}
}
