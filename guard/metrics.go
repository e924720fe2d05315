package guard

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	drops = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_guard_dropped_total",
		Help: "Requests dropped without an answer, by zone (sip, http) and reason (banned, flood, scanner).",
	}, []string{"zone", "reason"})
	bans = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_guard_bans_total",
		Help: "Sources banned, by zone and reason (flood, auth, manual).",
	}, []string{"zone", "reason"})
	banned = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wasmvoice_guard_banned_sources",
		Help: "Sources under a ban (expired bans leave within 30 s).",
	}, []string{"zone"})
	authFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_guard_auth_failures_total",
		Help: "Failed authentications counted, by zone.",
	}, []string{"zone"})
	targetLocks = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_guard_target_locks_total",
		Help: "Times an application, number or client refused authentication for a while after too many failures.",
	}, []string{"zone"})
	trackFull = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_guard_table_full_total",
		Help: "Sources or targets not counted because the guard already follows as many as it may.",
	}, []string{"zone"})
)
