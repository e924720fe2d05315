package callflow

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	requests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_callflow_webhook_requests_total",
		Help: "Webhook callback attempts by result (ok, invalid_bxml, timeout, status, error).",
	}, []string{"result"})
	fallbacks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_callflow_webhook_fallbacks_total",
		Help: "Webhook callbacks retried on their fallback URL.",
	})
	latency = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "wasmvoice_callflow_webhook_duration_seconds",
		Help:    "Time per webhook callback attempt.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	})
)
