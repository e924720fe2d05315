package trunkops

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// The metric keeps the name it had when the engine kept registrations.
var trunkRegistrations = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "wasmvoice_server_trunk_registrations",
	Help: "Bindings the node keeps at customers' PBXes (register auth mode), by state (registered, failing, pending).",
}, []string{"state"})

// RegistrationSync is how often the node re-reads which bindings it must
// keep: attach/update/detach through the API take effect within it.
const RegistrationSync = 15 * time.Second

// Registrar starts REGISTER bindings (sip.Server implements it).
type Registrar interface {
	StartRegistration(sip.RegisterRequest) *sip.Registration
}

// Registrations keeps one sip.Registration per distinct (registrar,
// username, password) of the register-mode routes in the store: a trunk
// shared by many numbers registers once.
type Registrations struct {
	store *store.Store
	reg   Registrar
	log   *slog.Logger

	mu    sync.Mutex
	byKey map[string]*registrationEntry

	stop context.CancelFunc
	done chan struct{}
}

type registrationEntry struct {
	reg     *sip.Registration
	configs []string // configuration IDs served by this binding
}

// StartRegistrations registers every register-mode route now and keeps the
// set in step with the store every RegistrationSync until Stop (or ctx
// ends). Stop unregisters all and must be called before the SIP server shuts
// down.
func StartRegistrations(ctx context.Context, st *store.Store, reg Registrar, log *slog.Logger) *Registrations {
	if log == nil {
		log = slog.Default()
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &Registrations{store: st, reg: reg, log: log.With("component", "registrations"),
		byKey: map[string]*registrationEntry{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(RegistrationSync)
		defer t.Stop()
		for {
			r.Sync(rctx)
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Stop ends the keeping and unregisters every binding within ctx.
func (r *Registrations) Stop(ctx context.Context) {
	r.stop()
	<-r.done
	r.closeAll(ctx)
}

// Status is the state of the binding that serves a configuration (by ID);
// ok is false when the configuration is not in register mode or has not
// been picked up yet.
func (r *Registrations) Status(configID string) (st sip.RegistrationStatus, ok bool) {
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

func registrationKey(rt store.SIPRoute) string {
	return rt.Destination.URI() + "\x00" + rt.Register.Username + "\x00" + rt.PBXPassword
}

// Sync starts bindings for new routes, stops those of removed ones, and
// publishes the state gauge. It runs every RegistrationSync; tests call it to
// pick a change up at once.
func (r *Registrations) Sync(ctx context.Context) {
	routes, err := r.store.RegistrationSIPRoutes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("read registration routes", "error", err)
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
		r.byKey[k] = &registrationEntry{reg: r.reg.StartRegistration(reqs[k]), configs: ids}
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
			r.log.Info("unregister", "error", err)
		}
		cancel()
	}
}

func (r *Registrations) closeAll(ctx context.Context) {
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
				r.log.Info("unregister", "error", err)
			}
		}()
	}
	wg.Wait()
	for _, s := range []string{"registered", "failing", "pending"} {
		trunkRegistrations.WithLabelValues(s).Set(0)
	}
}
