package media

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricRelayed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_packets_relayed_total",
		Help: "RTP packets relayed between bridged legs.",
	})
	metricTranscoded = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_packets_transcoded_total",
		Help: "Relayed RTP packets converted between μ-law and A-law, or decoded and encoded again between legs that share no codec.",
	})
	metricDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_media_packets_dropped_total",
		Help: "RTP/RTCP packets dropped, by reason.",
	}, []string{"reason"})
	dropMalformed   = metricDropped.WithLabelValues("malformed")
	dropUnlatched   = metricDropped.WithLabelValues("foreign_source")
	dropSRTP        = metricDropped.WithLabelValues("srtp_auth_or_replay")
	dropPayloadType = metricDropped.WithLabelValues("payload_type")
	dropSend        = metricDropped.WithLabelValues("send_error")
	dropCodec       = metricDropped.WithLabelValues("codec_error")

	metricSessions = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_media_sessions_active",
		Help: "Media sessions currently open.",
	})
	metricPortsInUse = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_media_ports_in_use",
		Help: "RTP ports (each with its RTCP port) currently allocated.",
	})
	metricIdle = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_idle_legs_total",
		Help: "Legs reported idle (no media received for the idle timeout).",
	})
	metricRTCPSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_rtcp_reports_sent_total",
		Help: "RTCP sender reports sent on legs the endpoint terminates.",
	})
	metricRTCPReceived = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_rtcp_reports_received_total",
		Help: "RTCP sender reports received on legs the endpoint terminates.",
	})
	metricDTMF = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_media_dtmf_received_total",
		Help: "RFC 4733 DTMF digits detected.",
	})
)
