package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

var trunkRegistrations = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "wasmvoice_server_trunk_registrations",
	Help: "Bindings the node keeps at customers' PBXes (register auth mode), by state (registered, failing, pending).",
}, []string{"state"})

// registrationSync is how often the node re-reads which bindings it must
// keep: attach/update/detach through the API take effect within it.
var registrationSync = 15 * time.Second

// regsHolder is the Engine's handle on its registrations, set once Run has
// listeners up.
type regsHolder struct{ atomic.Pointer[registrations] }

// registrations keeps one sip.Registration per distinct (registrar,
// username, password): a trunk shared by many numbers registers once.
type registrations struct {
	e   *Engine
	log *slog.Logger

	mu    sync.Mutex
	byKey map[string]*registrationEntry
}

type registrationEntry struct {
	reg     *sip.Registration
	configs []string // configuration IDs served by this binding
}

// RegistrationStatus is the state of the binding that serves a
// configuration (by ID); ok is false when the configuration is not in
// register mode or has not been picked up yet.
func (e *Engine) RegistrationStatus(configID string) (st sip.RegistrationStatus, ok bool) {
	r := e.regs.Load()
	if r == nil {
		return sip.RegistrationStatus{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ent := range r.byKey {
		for _, id := range ent.configs {
			if id == configID {
				return ent.reg.Status(), true
			}
		}
	}
	return sip.RegistrationStatus{}, false
}

var _ api.SIPRegistrations = (*Engine)(nil)

// SIPRegistration is RegistrationStatus as GET /v1/sip shows it.
func (e *Engine) SIPRegistration(configID string) (api.SIPRegistrationView, bool) {
	st, ok := e.RegistrationStatus(configID)
	if !ok {
		return api.SIPRegistrationView{}, false
	}
	v := api.SIPRegistrationView{State: "pending"}
	switch {
	case st.Registered:
		v.State = "registered"
	case st.Err != nil:
		v.State = "failing"
	}
	if st.Err != nil {
		v.Error = st.Err.Error()
	}
	if !st.LastAttempt.IsZero() {
		t := st.LastAttempt.UTC()
		v.LastAttempt = &t
	}
	if !st.Expires.IsZero() {
		t := st.Expires.UTC()
		v.Expires = &t
	}
	return v, true
}

// startRegistrations registers every register-mode route now and keeps the
// set in step with the store until ctx ends; the returned stop unregisters
// all (within its ctx) and must be called before the SIP server shuts down.
func (e *Engine) startRegistrations(ctx context.Context) (stop func(context.Context)) {
	r := &registrations{e: e, log: e.log.With("component", "registrations"), byKey: map[string]*registrationEntry{}}
	e.regs.Store(r)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(registrationSync)
		defer t.Stop()
		for {
			r.sync(rctx)
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(sctx context.Context) {
		cancel()
		<-done
		r.closeAll(sctx)
	}
}

func registrationKey(rt store.SIPRoute) string {
	return rt.Destination.URI() + "\x00" + rt.Register.Username + "\x00" + rt.PBXPassword
}

// sync starts bindings for new routes, stops those of removed ones, and
// publishes the state gauge.
func (r *registrations) sync(ctx context.Context) {
	routes, err := r.e.store.RegistrationSIPRoutes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("read registration routes", "err", err)
		}
		return
	}
	want := map[string][]string{}
	reqs := map[string]sip.RegisterRequest{}
	for _, rt := range routes {
		k := registrationKey(rt)
		want[k] = append(want[k], rt.Configuration.ID)
		d := rt.Destination
		d.User = ""
		reqs[k] = sip.RegisterRequest{Registrar: d.URI(), Username: rt.Register.Username, Password: rt.PBXPassword}
	}
	r.mu.Lock()
	var gone []*sip.Registration
	for k, ent := range r.byKey {
		if _, ok := want[k]; !ok {
			gone = append(gone, ent.reg)
			delete(r.byKey, k)
		}
	}
	for k, ids := range want {
		if ent, ok := r.byKey[k]; ok {
			ent.configs = ids
			continue
		}
		r.log.Info("registering to PBX", "registrar", reqs[k].Registrar, "username", reqs[k].Username, "numbers", len(ids))
		r.byKey[k] = &registrationEntry{reg: r.e.sip.StartRegistration(reqs[k]), configs: ids}
	}
	counts := map[string]float64{"registered": 0, "failing": 0, "pending": 0}
	for _, ent := range r.byKey {
		st := ent.reg.Status()
		switch {
		case st.Registered:
			counts["registered"]++
		case st.Err != nil:
			counts["failing"]++
		default:
			counts["pending"]++
		}
	}
	r.mu.Unlock()
	for s, n := range counts {
		trunkRegistrations.WithLabelValues(s).Set(n)
	}
	for _, g := range gone {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := g.Close(cctx); err != nil {
			r.log.Info("unregister", "err", err)
		}
		cancel()
	}
}

func (r *registrations) closeAll(ctx context.Context) {
	r.mu.Lock()
	all := r.byKey
	r.byKey = map[string]*registrationEntry{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, ent := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ent.reg.Close(ctx); err != nil {
				r.log.Info("unregister", "err", err)
			}
		}()
	}
	wg.Wait()
	for _, s := range []string{"registered", "failing", "pending"} {
		trunkRegistrations.WithLabelValues(s).Set(0)
	}
}
