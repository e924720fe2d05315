//go:build !wasm

package bxml

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics exist on the host only: guests (GOOS=wasip1) build this package
// for its builder and must not carry the Prometheus client.
var (
	parseErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_bxml_parse_errors_total",
		Help: "BXML documents rejected by Parse.",
	})
	verbsRun = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_bxml_verbs_total",
		Help: "BXML verbs executed by the interpreter, by verb.",
	}, []string{"verb"})
)

func countParseError()      { parseErrors.Inc() }
func countVerb(name string) { verbsRun.WithLabelValues(name).Inc() }
