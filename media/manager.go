package media

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/wasmvoice/wasmvoice/media/opus"
)

// Defaults for Config fields left zero.
const (
	DefaultPortMin     = 30000
	DefaultPortMax     = 40000
	DefaultIdleTimeout = 60 * time.Second
	DefaultReadBuffer  = 512 << 10
)

// Config configures a Manager. Zero fields take the Default* values.
type Config struct {
	// G729 transcodes G.729 with the system's libbcg729 (GPL-3.0+, loaded
	// at run time only when asked); otherwise G.729 is only passed through.
	G729 bool
	// AdvertisedIP goes into c= and o= of every description we send
	// (required: the address peers can reach the relay on).
	AdvertisedIP netip.Addr
	// BindIP is the local address RTP sockets listen on; unspecified means
	// all interfaces.
	BindIP netip.Addr
	// PortMin and PortMax bound the RTP ports (even ports; RTCP is RTP+1).
	PortMin, PortMax int
	// IdleTimeout is how long a leg may receive no RTP or RTCP before it is
	// reported on Session.Idle. Negative disables idle detection.
	IdleTimeout time.Duration
	// RTCPInterval is the mean interval of the RTCP reports a leg we
	// terminate sends (0: DefaultRTCPInterval, RFC 3550's 5 s).
	RTCPInterval time.Duration
	// ReadBuffer is the SO_RCVBUF size asked for on every socket.
	ReadBuffer int
	// HTTPClient fetches http(s) play sources; nil uses a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// TTSCacheEntries and TTSCacheBytes bound the synthesized speech cache
	// (defaults 256 entries, 32 MiB of 8 kHz samples).
	TTSCacheEntries int
	TTSCacheBytes   int
	Logger          *slog.Logger
}

// Manager owns the port pool and shared resources (TTS cache, HTTP client)
// and creates sessions. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	pool  *PortPool
	log   *slog.Logger
	tts   *TTS
	http  *http.Client
	clock clock
	// advertisedLocal: cfg.AdvertisedIP is an address of this host (not a
	// NAT's public address), so a packet from it comes from this host.
	advertisedLocal bool
}

// NewManager validates cfg and returns a Manager.
func NewManager(cfg Config) (*Manager, error) {
	if !cfg.AdvertisedIP.IsValid() || cfg.AdvertisedIP.IsUnspecified() {
		return nil, fmt.Errorf("media: AdvertisedIP must be a concrete address, got %q", cfg.AdvertisedIP)
	}
	if cfg.PortMin == 0 && cfg.PortMax == 0 {
		cfg.PortMin, cfg.PortMax = DefaultPortMin, DefaultPortMax
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.RTCPInterval <= 0 {
		cfg.RTCPInterval = DefaultRTCPInterval
	}
	if cfg.ReadBuffer == 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if !cfg.BindIP.IsValid() {
		cfg.BindIP = netip.IPv4Unspecified()
	}
	pool, err := NewPortPool(cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	m := &Manager{cfg: cfg, pool: pool, log: log.With("caller", "media"), http: hc,
		advertisedLocal: isHostAddress(cfg.AdvertisedIP)}
	m.tts = NewTTS(TTSOptions{CacheEntries: cfg.TTSCacheEntries, CacheBytes: cfg.TTSCacheBytes, Logger: m.log})
	if v, err := opus.Load(); err != nil {
		m.log.Info("Opus is neither offered nor accepted: install libopus0 to enable it", "err", err)
	} else {
		m.log.Debug("Opus enabled", "libopus", v)
	}
	if !cfg.G729 {
		m.log.Debug("G.729 is only passed through, never transcoded (--g729 loads libbcg729 to transcode it)")
	} else if err := EnableG729(); err != nil {
		m.log.Warn("G.729 is only passed through, never transcoded: install libbcg729-0", "err", err)
	}
	return m, nil
}

// Pool returns the manager's port pool (for stats and tests).
func (m *Manager) Pool() *PortPool { return m.pool }

// IdleTimeout is how long a leg may receive nothing before Session.Idle
// reports it (negative: never).
func (m *Manager) IdleTimeout() time.Duration { return m.cfg.IdleTimeout }

// TTS returns the shared text-to-speech engine.
func (m *Manager) TTS() *TTS { return m.tts }

// SessionOptions configures one session.
type SessionOptions struct {
	// Logger carries the call's attributes (call ID, Call-ID); nil uses the
	// manager's logger.
	Logger *slog.Logger
}

// NewSession returns an empty session; add legs with NewLeg.
func (m *Manager) NewSession(opts SessionOptions) *Session {
	log := opts.Logger
	if log == nil {
		log = m.log
	}
	return newSession(m, log)
}
