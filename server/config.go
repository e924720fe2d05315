// Package server is the composition root: it opens the store and wires the
// API, the SIP front door, the media relay, the call engine (package calls)
// and the flood guards into one node, and runs their listeners.
package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// Defaults, chosen so `go run ./cmd/wasmvoice` works on a laptop.
const (
	DefaultHTTPAddr  = ":8080"
	DefaultSIPAddr   = "0.0.0.0:5060"
	DefaultSIPTLS    = "0.0.0.0:5061"
	DefaultSIPDomain = "localhost"
	DefaultRegion    = "US"
	DefaultRTPPorts  = "30000-40000"
)

// DefaultDataDir is where a node keeps its data when --data-dir is not
// given: $XDG_DATA_HOME/wasmvoice, else ~/.local/share/wasmvoice, else
// /var/lib/wasmvoice. Absolute, so the working directory never decides
// which node starts.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "wasmvoice")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "wasmvoice")
	}
	return "/var/lib/wasmvoice"
}

// Config is a node's settings.
type Config struct {
	// Version is the node's version as the web console and the nodes
	// table show it.
	Version string
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://...); "" is SQLite in
	// DataDir. DataDir holds the files (modules, recordings) either way.
	DatabaseURL string
	HTTPAddr    string
	SIPAddr     string // UDP and TCP
	SIPTLSAddr  string // used only with TLSCert and TLSKey
	TLSCert     string
	TLSKey      string
	SIPDomain   string // host of every sipUri and the digest realm
	Region      string
	MediaIP     string // advertised in Via, Contact and SDP; empty = the SIP listener's IP if it has one, else the outbound interface's
	RTPPorts    string // "min-max"
	// MediaTimeout ends an answered call whose peer sent no RTP or RTCP
	// this long (0: media.DefaultIdleTimeout, 60 s).
	MediaTimeout time.Duration
	// SIPHealthInterval is how often every outbound trunk endpoint gets an
	// OPTIONS probe (0: trunkops.DefaultHealthInterval, 60 s).
	SIPHealthInterval time.Duration
	// SIPRequireVerification refuses a call out through a trunk
	// (createCall to a phone number, a BXML transfer or forward to one)
	// from an E.164 number the account has not verified (PUT
	// /v1/sip/verify) or ported in. The binary turns it on unless told
	// otherwise.
	SIPRequireVerification bool
	// VerifyCodes makes verification codes (nil: crypto/rand); tests that
	// play the callee set it, as they would set a clock.
	VerifyCodes func() (string, error)
	// DNSServer is the DNS server (host:port) SIP discovery resolves with;
	// "" is the system's resolver.
	DNSServer string
	// RecordingRetention is how long recordings (media and metadata) are
	// kept, from their start; 0 keeps them for good, which only a Config
	// built in code does (the flag wants a positive duration, default
	// storage.DefaultRetention, 30 days).
	RecordingRetention time.Duration
	// RecordingStorage is where finished recordings go: "" keeps them
	// under DataDir; "s3://BUCKET[/PREFIX]?endpoint=..." puts them in an
	// S3-compatible bucket (storage.ParseS3URL), credentials from the
	// environment.
	RecordingStorage string
	// G729 transcodes G.729 with the system's libbcg729 (GPL-3.0+, loaded
	// only when asked); off, G.729 is only passed through.
	G729 bool
	// RTCPInterval is the mean interval of the RTCP reports on legs the node
	// terminates (0: RFC 3550's 5 s; tests shorten it).
	RTCPInterval time.Duration
	PublicURL    string // base URL of the API as callbacks show it (callUrl, mediaUrl); empty = derived
	// DigestAlgorithms are offered in 407 challenges, most preferred first
	// (default MD5, which every client completes; an application may ask
	// for SHA-256 with sipDigestAlgorithms).
	DigestAlgorithms []string
	// PprofAddr, when set, serves net/http/pprof on its own listener (keep
	// it on loopback: profiles show call data).
	PprofAddr string
	// SIPClientTLS configures outbound legs over TLS (trunks with transport
	// tls); nil verifies peers against the system roots.
	SIPClientTLS *tls.Config
	// Wasm call handlers: the default limits of an application that sets
	// none (0: wasmhost's defaults, 16 MiB and 50 ms), the node maxima every
	// application's limits are clamped to (0: 64 MiB, 1 s), the upload cap
	// (0: 32 MiB), and warm / maximum instances per application.
	WasmMemoryMiB, WasmMaxMemoryMiB int
	WasmTimeout, WasmMaxTimeout     time.Duration
	WasmMaxModuleBytes              int
	WasmWarm, WasmMaxInstances      int
	// WasmCompileConcurrency bounds modules compiled at once (0: 1).
	WasmCompileConcurrency int
	// WasmCacheDir holds compiled modules across restarts (default
	// <data-dir>/wasm-cache).
	WasmCacheDir string
	// TrustedCIDRs are sources the flood guard never counts or bans, on SIP
	// and HTTP alike (SIP trunks' own addresses are trusted as well).
	TrustedCIDRs []netip.Prefix
	// SIPGuard and HTTPGuard set the flood and failed-authentication budgets
	// (zero fields: the guard package's defaults; the HTTP guard counts
	// failed authentications only).
	SIPGuard, HTTPGuard guard.Config
	// SIPStream bounds TCP and TLS connections (zero fields: defaults).
	SIPStream sip.StreamLimits
	// HTTPMaxConns caps concurrent connections of the API (0: 1024).
	HTTPMaxConns int
	// MaxCallsPerApplication (the default of applications that set none),
	// MaxCallsPerAccount and MaxCallsPerSource cap concurrent calls; SIP
	// trunks (trusted sources) are not capped per source. 0 means no cap.
	MaxCallsPerApplication, MaxCallsPerAccount, MaxCallsPerSource int
	// NodeID names the node among those sharing the database ("": the ID
	// generated at first start and saved in DataDir).
	NodeID string
	// NodeHeartbeat is how often the node beats in the nodes table; a node
	// that misses cluster.MissedBeats beats is dead and another node
	// reconciles its calls (0: cluster.DefaultHeartbeat, 5 s). Give every
	// node the same interval.
	NodeHeartbeat time.Duration
	// NodeAPIURL is where other nodes reach this node's API to forward
	// requests for the calls it carries ("": http://<the HTTP listener's
	// IP, else the advertised IP>:<port>).
	NodeAPIURL string
	// SIPTrustedProxies are the SIP proxies (Kamailio in front of several
	// nodes) whose X-Wasmvoice-Source header gives a request's original
	// source for allowlists, rate limits and caps.
	SIPTrustedProxies []netip.Prefix
	// Transcription picks the speech recogniser and bounds its queue.
	Transcription TranscriptionConfig
	Logger        *slog.Logger
}

// DefaultHTTPMaxConns is the API's connection cap when none is set.
const DefaultHTTPMaxConns = 1024

// Defaults of the concurrent-call caps (flags --max-calls-per-*).
const (
	DefaultMaxCallsPerApplication = 500
	DefaultMaxCallsPerAccount     = 1000
	DefaultMaxCallsPerSource      = 100
)

// Validate checks the settings and says which one is wrong.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir: must not be empty")
	}
	if c.DatabaseURL != "" && !store.IsPostgresURL(c.DatabaseURL) {
		return fmt.Errorf("--database-url: want postgres://user:password@host/dbname (empty: SQLite in --data-dir)")
	}
	for name, addr := range map[string]string{"--http-addr": c.HTTPAddr, "--sip-addr": c.SIPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want host:port: %w", name, addr, err)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.SIPDomain == "" || strings.ContainsAny(c.SIPDomain, "@:/ ") {
		return fmt.Errorf("--sip-domain %q: want a host name such as sip.example.com", c.SIPDomain)
	}
	if !slices.Contains(store.KnownRegions, c.Region) {
		return fmt.Errorf("--region %q: want one of %s", c.Region, strings.Join(store.KnownRegions, ", "))
	}
	if c.MediaIP != "" {
		if _, err := netip.ParseAddr(c.MediaIP); err != nil {
			return fmt.Errorf("--media-ip %q: want an IP address", c.MediaIP)
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url %q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	if _, _, err := ParsePortRange(c.RTPPorts); err != nil {
		return fmt.Errorf("--rtp-ports: %w", err)
	}
	if c.NodeAPIURL != "" {
		if u, err := url.Parse(c.NodeAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--node-api-url %q: want an absolute http(s) URL", c.NodeAPIURL)
		}
	}
	if c.NodeHeartbeat < 0 {
		return fmt.Errorf("--node-heartbeat %s: want a positive duration", c.NodeHeartbeat)
	}
	if c.RecordingRetention < 0 {
		return fmt.Errorf("--recording-retention %s: want a positive duration", c.RecordingRetention)
	}
	return nil
}

// advertisedIP is the address Via, Contact and SDP name: --media-ip, else
// the SIP listener's own IP when it is bound to one (a node on
// 127.0.0.1:5060 must not send peers to another interface), else the
// address of the outbound interface.
func (c *Config) advertisedIP() (netip.Addr, error) {
	if c.MediaIP != "" {
		ip, err := netip.ParseAddr(c.MediaIP)
		if err != nil {
			return ip, fmt.Errorf("--media-ip %q: %w", c.MediaIP, err)
		}
		return ip, nil
	}
	if host, _, err := net.SplitHostPort(c.SIPAddr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
			return ip.Unmap(), nil
		}
	}
	return media.OutboundIP(), nil
}

// ParsePortRange parses "min-max": an even first port, so RTP stays even and
// RTCP is RTP+1, and at least one pair.
func ParsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q: want min-max, e.g. 30000-40000", s)
	}
	if lo < 1024 || hi > 65535 || hi-lo < 1 {
		return 0, 0, fmt.Errorf("%q: want 1024 <= min < max <= 65535", s)
	}
	if lo%2 != 0 {
		return 0, 0, fmt.Errorf("%q: min must be even (RTP even, RTCP = RTP+1)", s)
	}
	return lo, hi, nil
}
