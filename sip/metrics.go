package sip

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Rejection reasons: the label values of wasmvoice_sip_rejections_total and
// the "reason" attribute of the log line. Never sent to the caller.
const (
	reasonTooManyHops       = "max_forwards"
	reasonLoop              = "loop"
	reasonMalformed         = "malformed"
	reasonUnsupportedScheme = "unsupported_uri_scheme"
	reasonBadExtension      = "bad_extension"
	reasonVersion           = "version_not_supported"
	reasonUnknownApp        = "unknown_application"
	reasonUnknownNumber     = "unknown_number"
	reasonInboundDisabled   = "inbound_disabled"
	reasonRegion            = "region"
	reasonSourceIP          = "source_ip"
	reasonBanned            = "banned" // a banned caller behind a trusted proxy
	reasonNoCredentials     = "no_credentials"
	reasonBadNonce          = "bad_nonce"
	reasonStaleNonce        = "stale_nonce"
	reasonNonceReplay       = "nc_replay"
	reasonBadCredentials    = "bad_credentials"
	reasonAuthLocked        = "auth_locked"
	reasonUserMismatch      = "user_mismatch"
	reasonStoreError        = "store_error"
	reasonMethodNotAllowed  = "method_not_allowed"
	reasonNotImplemented    = "not_implemented"
	reasonNoDialog          = "no_dialog"
	reasonShuttingDown      = "shutting_down"
)

var (
	metricRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_sip_requests_total",
		Help: "SIP requests received, by method.",
	}, []string{"method"})
	metricRejections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_sip_rejections_total",
		Help: "Requests answered with an error or a challenge by the front door, by reason.",
	}, []string{"reason"})
	metricAccepted = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_sip_invites_accepted_total",
		Help: "INVITEs that passed every check and were handed to the call engine.",
	})
	streamConns = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wasmvoice_sip_stream_connections",
		Help: "TCP and TLS connections open, by listener.",
	}, []string{"listener"})
	streamRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_sip_stream_refused_total",
		Help: "TCP and TLS connections refused or closed by the node, by listener and reason (max_conns, max_conns_per_ip, banned, idle_timeout, message_timeout, handshake_timeout, message_too_large, junk, accept_error).",
	}, []string{"listener", "reason"})
	metricProxySource = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_sip_proxy_source_total",
		Help: "INVITEs that carried X-Wasmvoice-Source, by outcome: used (from a trusted proxy), untrusted (ignored), malformed (the proxy's address used).",
	}, []string{"outcome"})
	metricCallsActive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_sip_dialogs_active",
		Help: "Inbound and outbound SIP legs currently alive.",
	})
)

// methodLabel keeps the method label bounded: unknown methods share one value.
func methodLabel(m string) string {
	switch m {
	case "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE",
		"PRACK", "REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE", "PUBLISH":
		return m
	}
	return "other"
}
