package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/server"
	"github.com/wasmvoice/wasmvoice/sip"
)

// guardFlags registers the flags of the flood guard, connection limits and
// call caps; the returned function finishes cfg after f.parse.
func guardFlags(f flags, cfg *server.Config) func() error {
	var trusted string
	var flood int
	f.str(&trusted, "sip-trusted-cidrs", "", "comma-separated CIDRs never rate-limited or banned (SIP and API); trunk addresses are trusted as well")
	f.integer(&flood, "sip-flood-limit", guard.DefaultFloodLimit, 0, "SIP requests one source may send per --sip-flood-window before it is banned (0: off)")
	f.duration(&cfg.SIPGuard.FloodWindow, "sip-flood-window", guard.DefaultFloodWindow, "window of --sip-flood-limit")
	f.integer(&cfg.SIPGuard.AuthLimit, "auth-fail-limit", guard.DefaultAuthLimit, 1, "failed authentications (SIP digest, API secrets) one source may make per minute before it is banned")
	f.integer(&cfg.SIPGuard.TargetLimit, "auth-fail-target-limit", guard.DefaultTargetLimit, 1, "failed authentications per minute against one application, number or API client before it refuses authentication for a while (1 s, doubling up to 5 min)")
	f.duration(&cfg.SIPGuard.BanTime, "ban-time", guard.DefaultBanTime, "how long a banned source is dropped")
	f.integer(&cfg.SIPStream.MaxConns, "sip-max-connections", 0, 0, "concurrent SIP TCP/TLS connections per listener (0: a quarter of the file-descriptor limit, at most 4096)")
	f.integer(&cfg.SIPStream.MaxConnsPerIP, "sip-max-connections-per-ip", sip.DefaultMaxConnsPerIP, 1, "concurrent SIP TCP/TLS connections from one source")
	f.duration(&cfg.SIPStream.IdleTimeout, "sip-idle-timeout", sip.DefaultIdleTimeout, "close a SIP TCP/TLS connection quiet this long between messages")
	f.duration(&cfg.SIPStream.MessageTimeout, "sip-message-timeout", sip.DefaultMessageTimeout, "close a SIP TCP/TLS connection whose message started but did not finish within this")
	f.duration(&cfg.SIPStream.HandshakeTimeout, "sip-tls-handshake-timeout", sip.DefaultHandshakeTimeout, "close a SIP TLS connection without a finished handshake after this")
	f.integer(&cfg.SIPStream.MaxMessageBytes, "sip-max-message-bytes", sip.DefaultMaxMessageBytes, 1024, "largest SIP message over TCP/TLS (larger ones are answered 513)")
	f.integer(&cfg.HTTPMaxConns, "http-max-connections", server.DefaultHTTPMaxConns, 1, "concurrent connections of the HTTP API")
	f.integer(&cfg.MaxCallsPerApplication, "max-calls-per-application", server.DefaultMaxCallsPerApplication, 0, "concurrent calls of an application that sets no maxConcurrentCalls (0: no cap)")
	f.integer(&cfg.MaxCallsPerAccount, "max-calls-per-account", server.DefaultMaxCallsPerAccount, 0, "concurrent calls of an account (0: no cap)")
	f.integer(&cfg.MaxCallsPerSource, "max-calls-per-source", server.DefaultMaxCallsPerSource, 0, "concurrent inbound calls from one IP address; trunks and --sip-trusted-cidrs are not capped (0: no cap)")
	return func() error {
		var err error
		if cfg.TrustedCIDRs, err = parseCIDRs("--sip-trusted-cidrs", trusted); err != nil {
			return err
		}
		cfg.SIPGuard.FloodLimit = flood
		if flood == 0 {
			cfg.SIPGuard.FloodLimit = -1 // off
		}
		// The API counts failed authentications with the same budgets.
		cfg.HTTPGuard.AuthLimit, cfg.HTTPGuard.TargetLimit, cfg.HTTPGuard.BanTime = cfg.SIPGuard.AuthLimit, cfg.SIPGuard.TargetLimit, cfg.SIPGuard.BanTime
		return nil
	}
}

// parseCIDRs parses a flag's comma-separated CIDRs (a bare IP is a /32 or
// /128).
func parseCIDRs(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			ip, ierr := netip.ParseAddr(c)
			if ierr != nil {
				return nil, fmt.Errorf("%s %q: want CIDRs such as 192.0.2.0/24", flag, c)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
