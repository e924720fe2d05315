package streams

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricStreams = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_media_streams_total",
		Help: "Media streams by outcome of their start: started, rejected (the WebSocket could not be opened).",
	}, []string{"outcome"})
	metricActive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_media_streams_active",
		Help: "Media streams currently open.",
	})
	metricSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_stream_messages_sent_total",
		Help: "Media messages written to stream servers.",
	})
	metricDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_stream_messages_dropped_total",
		Help: "Media messages dropped because a stream's queue was full (its server is slow or stuck).",
	})
	metricPlayed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_stream_samples_received_total",
		Help: "Samples of audio (8 kHz) bidirectional stream servers sent to be played.",
	})
	metricBadMessages = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_stream_bad_messages_total",
		Help: "Messages from stream servers that were ignored (not JSON, unknown eventType, bad payload).",
	})
)
