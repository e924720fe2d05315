package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/store"
)

// DefaultHeartbeat is how often a node beats when --node-heartbeat is not
// given.
const DefaultHeartbeat = 5 * time.Second

// MissedBeats is how many beats a node may miss before it is dead.
const MissedBeats = 3

var (
	nodesReconciled = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_cluster_nodes_reconciled_total",
		Help: "Dead nodes this node claimed and whose calls it reconciled.",
	})
	heartbeatErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_cluster_heartbeat_errors_total",
		Help: "Heartbeats that did not reach the database.",
	})
)

// Reconciler settles a dead node's calls (the call engine).
type Reconciler interface {
	ReconcileNode(ctx context.Context, id string, lastBeat time.Time) (calls.Recovery, error)
}

// Config is what a Registry needs.
type Config struct {
	Store *store.Store
	// Self describes this node; its times are set when it registers.
	Self store.Node
	// Heartbeat is the beat interval (0: DefaultHeartbeat). A node is dead
	// after MissedBeats intervals without a beat.
	Heartbeat  time.Duration
	Reconciler Reconciler
	Logger     *slog.Logger
}

// Registry keeps this node registered and beating, and reconciles the
// nodes that stop.
type Registry struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New builds a registry; Run registers and beats.
func New(cfg Config) *Registry {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{cfg: cfg, log: cfg.Logger.With("caller", "cluster", "node", cfg.Self.ID), now: time.Now}
}

// ID is this node's ID.
func (r *Registry) ID() string { return r.cfg.Self.ID }

// Dead reports whether n has missed MissedBeats beats at now, or was claimed.
func (r *Registry) Dead(n store.Node, now time.Time) bool {
	return n.ClaimedBy != "" || n.HeartbeatAt.Before(now.Add(-MissedBeats*r.cfg.Heartbeat))
}

// ClaimOwnCalls claims this node before it reconciles its own journal at
// start, so that no other node reconciles the same calls meanwhile. It
// reports false when another node claimed this one already (while it was
// down): that node settles its calls.
func (r *Registry) ClaimOwnCalls(ctx context.Context) (bool, error) {
	id := r.cfg.Self.ID
	n, err := r.cfg.Store.Node(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil // a first start: nothing journaled under this name but older rows
	}
	if err != nil {
		return false, err
	}
	if n.ClaimedBy != "" && n.ClaimedBy != id {
		r.log.Warn("another node reconciled this node's calls while it was down", "by", n.ClaimedBy)
		return false, nil
	}
	now := r.now()
	if _, err := r.cfg.Store.ClaimNode(ctx, id, id, now.Add(time.Hour), now); err != nil {
		return false, err
	}
	n, err = r.cfg.Store.Node(ctx, id)
	if err != nil {
		return false, err
	}
	return n.ClaimedBy == id, nil
}

// SetAPIURL sets where other nodes reach this node's API (once it is
// known, before Register).
func (r *Registry) SetAPIURL(u string) { r.cfg.Self.APIURL = u }

// Register records this node as live from now.
func (r *Registry) Register(ctx context.Context) error {
	n := r.cfg.Self
	n.StartedAt = r.now().UTC()
	n.HeartbeatAt = n.StartedAt
	return r.cfg.Store.RegisterNode(ctx, n)
}

// Leave records that this node stopped on purpose (its calls are over):
// no other node reconciles it, and its next start finds nothing to hand
// over. Call it after the engine's calls ended.
func (r *Registry) Leave(ctx context.Context) error {
	now := r.now()
	_, err := r.cfg.Store.ClaimNode(ctx, r.cfg.Self.ID, r.cfg.Self.ID, now.Add(time.Hour), now)
	return err
}

// Run beats every interval until ctx ends, and at each beat claims and
// reconciles the nodes that died. Call Register first.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.beat(ctx)
		r.reap(ctx)
	}
}

// beat records that the node runs; a node that finds it was declared dead
// (its beats did not reach the database long enough) says so loudly and
// registers again: the calls it carries were reconciled by another node.
func (r *Registry) beat(ctx context.Context) {
	by, err := r.cfg.Store.BeatNode(ctx, r.cfg.Self.ID, r.now())
	switch {
	case ctx.Err() != nil:
		return
	case errors.Is(err, store.ErrNotFound):
		r.log.Warn("node row gone; registering again")
	case err != nil:
		heartbeatErrors.Inc()
		r.log.Warn("heartbeat", "error", err)
		return
	case by == "" || by == r.cfg.Self.ID: // running, or leaving (Leave)
		return
	default:
		r.log.Error("this node was declared dead and its calls reconciled by another node (its heartbeats did not reach the database); registering again", "by", by)
	}
	if err := r.Register(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("register node", "error", err)
	}
}

// reap claims each dead node no one claimed yet and reconciles its calls.
// The claim is one atomic UPDATE, so of several live nodes exactly one
// reconciles a dead one.
func (r *Registry) reap(ctx context.Context) {
	nodes, err := r.cfg.Store.Nodes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("list nodes", "error", err)
		}
		return
	}
	now := r.now()
	for _, n := range nodes {
		if n.ID == r.cfg.Self.ID || n.ClaimedBy != "" || !r.Dead(n, now) {
			continue
		}
		if err := r.reconcile(ctx, n, now); err != nil && ctx.Err() == nil {
			r.log.Error("reconcile dead node", "dead", n.ID, "error", err)
		}
	}
}

func (r *Registry) reconcile(ctx context.Context, n store.Node, now time.Time) error {
	won, err := r.cfg.Store.ClaimNode(ctx, n.ID, r.cfg.Self.ID, now.Add(-MissedBeats*r.cfg.Heartbeat), now)
	if err != nil || !won {
		return err
	}
	r.log.Warn("node lost: reconciling its calls", "dead", n.ID, "lastBeat", n.HeartbeatAt, "apiUrl", n.APIURL)
	nodesReconciled.Inc()
	if r.cfg.Reconciler == nil {
		return nil
	}
	got, err := r.cfg.Reconciler.ReconcileNode(ctx, n.ID, n.HeartbeatAt)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	r.log.Warn("node lost: calls reconciled", "dead", n.ID, "calls", got.Calls)
	return nil
}
