package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/wasmvoice/wasmvoice/guard"
)

// Defaults for Config fields left zero.
const (
	DefaultNonceTTL        = 5 * time.Minute
	DefaultReplayCacheSize = 65536
	DefaultAnswerTimeout   = 3 * time.Minute
	DefaultUserAgent       = "wasmvoice"
	// MinNonceKeyLen is the shortest accepted HMAC key for nonces.
	MinNonceKeyLen = 16
	// udpReadBuffer is the receive buffer asked for on UDP listeners, so a
	// burst is queued by the kernel instead of dropped.
	udpReadBuffer = 4 << 20
)

// Config holds the node settings of the SIP server.
type Config struct {
	// Domain is the SIP domain: the host of every sipUri and the digest realm.
	Domain string
	// Region is this node's region code (e.g. "US"), checked against each
	// application's allowedRegions.
	Region string
	// AdvertisedHost and AdvertisedPort are put in Via and Contact headers
	// and used for loop detection. AdvertisedPort 0 means the port of the
	// listener the message goes through.
	AdvertisedHost string
	AdvertisedPort int
	// NonceKey signs digest nonces (HMAC-SHA-256). It is generated once at
	// first start and kept in the store, so nonces survive a restart.
	NonceKey []byte
	// DigestAlgorithms are the challenges sent on 401/407, most preferred
	// first, for applications that set none; default MD5 alone. SHA-256
	// (RFC 8760) is there to enable per node or per application: some
	// clients (baresip 1.x on libre) fail the whole authentication when any
	// challenge names an algorithm they lack, and sipp 3.6 reads only the
	// first and knows only MD5.
	DigestAlgorithms []string
	// NonceTTL is how long a nonce is good for; after that it is stale.
	NonceTTL time.Duration
	// ReplayCacheSize bounds the nonce-count replay table (entries).
	ReplayCacheSize int
	// AnswerTimeout ends an accepted INVITE with 480 if the engine has
	// neither answered nor rejected it by then.
	AnswerTimeout time.Duration
	// UserAgent is sent in the Server / User-Agent headers.
	UserAgent string
	// ClientTLS configures TLS for outbound legs (Dial with transport=tls);
	// nil uses the system roots.
	ClientTLS *tls.Config
	// Guard, when set, counts every request per source and drops those of
	// banned sources before they are parsed; failed authentications count
	// against the source and the application or number.
	Guard *guard.Guard
	// TrustedProxies are the SIP proxies whose SourceHeader gives an
	// INVITE's original source (Kamailio in front of several nodes).
	TrustedProxies []netip.Prefix
	// Stream bounds TCP and TLS connections (zero fields: defaults).
	Stream StreamLimits
	// OnRefusal, when set, hears of every refused request whose
	// application (or phone number) is known, except the challenge that
	// opens every digest exchange: the account's debugger feed. It must
	// return at once.
	OnRefusal func(Refusal)
	Logger    *slog.Logger
}

// Refusal is a request the front door refused, for its account's eyes.
type Refusal struct {
	Status        int
	Reason        string // as the rejections metric labels it
	Method        string
	Source        string // the peer's address
	RequestURI    string
	SIPCallID     string
	AccountID     string
	ApplicationID string
}

// withDefaults returns a copy with zero fields filled in.
func (c Config) withDefaults() Config {
	if c.NonceTTL == 0 {
		c.NonceTTL = DefaultNonceTTL
	}
	if c.ReplayCacheSize == 0 {
		c.ReplayCacheSize = DefaultReplayCacheSize
	}
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = DefaultAnswerTimeout
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = []string{algMD5}
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.AdvertisedHost == "" {
		c.AdvertisedHost = c.Domain
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every missing or out-of-range setting.
func (c Config) Validate() error {
	var errs []error
	if c.Domain == "" {
		errs = append(errs, errors.New("sip: Domain is required"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("sip: Region is required"))
	}
	if len(c.NonceKey) < MinNonceKeyLen {
		errs = append(errs, fmt.Errorf("sip: NonceKey must be at least %d bytes, got %d", MinNonceKeyLen, len(c.NonceKey)))
	}
	if c.NonceTTL < 0 {
		errs = append(errs, fmt.Errorf("sip: NonceTTL must not be negative, got %s", c.NonceTTL))
	}
	if c.ReplayCacheSize < 0 {
		errs = append(errs, fmt.Errorf("sip: ReplayCacheSize must not be negative, got %d", c.ReplayCacheSize))
	}
	for _, a := range c.DigestAlgorithms {
		if a != algSHA256 && a != algMD5 {
			errs = append(errs, fmt.Errorf("sip: digest algorithm %q not supported (SHA-256, MD5)", a))
		}
	}
	if c.AdvertisedPort < 0 || c.AdvertisedPort > 65535 {
		errs = append(errs, fmt.Errorf("sip: AdvertisedPort out of range: %d", c.AdvertisedPort))
	}
	return errors.Join(errs...)
}
