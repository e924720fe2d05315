package wasmhost

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	eventsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_wasmhost_events_total",
		Help: "Events handed to Wasm modules, by result (ok, error; unhandled: answered without a run, the module having no handler for the type).",
	}, []string{"result"})
	errorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_wasmhost_errors_total",
		Help: "Failed Wasm events by kind (timeout, trap, memory, bad_decision, guest_error, ...).",
	}, []string{"kind"})
	eventSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "wasmvoice_wasmhost_event_duration_seconds",
		Help:    "Time to turn one event into a decision, instance acquisition included.",
		Buckets: prometheus.ExponentialBuckets(5e-6, 2.5, 12), // 5 µs .. ~300 ms
	})
	instancesLive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_wasmhost_instances_live",
		Help: "Wasm module instances currently alive (idle and busy).",
	})
	instantiateSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "wasmvoice_wasmhost_instantiate_duration_seconds",
		Help:    "Time to start one instance (_initialize included).",
		Buckets: prometheus.ExponentialBuckets(1e-4, 2.5, 10),
	})
	compileSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "wasmvoice_wasmhost_compile_duration_seconds",
		Help:    "Time to validate and compile one module.",
		Buckets: prometheus.ExponentialBuckets(1e-3, 2.5, 10),
	})
)
