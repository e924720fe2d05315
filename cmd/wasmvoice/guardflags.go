package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/server"
	"github.com/wasmvoice/wasmvoice/sip"
)

// guardFlags registers the flags of the flood guard and of connection
// limits; the returned function parses them into cfg after f.Parse.
func guardFlags(f flags, cfg *server.Config) func() error {
	var trusted string
	var floodLimit, authLimit, targetLimit, maxConns, maxPerIP, maxMsg, httpConns string
	var callsApp, callsAcct, callsSrc string
	var floodWindow, banTime, idle, message, handshake string
	f.str(&trusted, "sip-trusted-cidrs", "", "comma-separated CIDRs never rate-limited or banned (SIP and API); trunk addresses are trusted as well")
	f.str(&floodLimit, "sip-flood-limit", strconv.Itoa(guard.DefaultFloodLimit), "SIP requests one source may send per --sip-flood-window before it is banned (0: off)")
	f.str(&floodWindow, "sip-flood-window", guard.DefaultFloodWindow.String(), "window of --sip-flood-limit")
	f.str(&authLimit, "auth-fail-limit", strconv.Itoa(guard.DefaultAuthLimit), "failed authentications (SIP digest, API secrets) one source may make per minute before it is banned")
	f.str(&targetLimit, "auth-fail-target-limit", strconv.Itoa(guard.DefaultTargetLimit), "failed authentications per minute against one application, number or API client before it refuses authentication for a while (1 s, doubling up to 5 min)")
	f.str(&banTime, "ban-time", guard.DefaultBanTime.String(), "how long a banned source is dropped")
	f.str(&maxConns, "sip-max-connections", "0", "concurrent SIP TCP/TLS connections per listener (0: a quarter of the file-descriptor limit, at most 4096)")
	f.str(&maxPerIP, "sip-max-connections-per-ip", strconv.Itoa(sip.DefaultMaxConnsPerIP), "concurrent SIP TCP/TLS connections from one source")
	f.str(&idle, "sip-idle-timeout", sip.DefaultIdleTimeout.String(), "close a SIP TCP/TLS connection quiet this long between messages")
	f.str(&message, "sip-message-timeout", sip.DefaultMessageTimeout.String(), "close a SIP TCP/TLS connection whose message started but did not finish within this")
	f.str(&handshake, "sip-tls-handshake-timeout", sip.DefaultHandshakeTimeout.String(), "close a SIP TLS connection without a finished handshake after this")
	f.str(&maxMsg, "sip-max-message-bytes", strconv.Itoa(sip.DefaultMaxMessageBytes), "largest SIP message over TCP/TLS (larger ones are answered 513)")
	f.str(&httpConns, "http-max-connections", strconv.Itoa(server.DefaultHTTPMaxConns), "concurrent connections of the HTTP API")
	f.str(&callsApp, "max-calls-per-application", strconv.Itoa(server.DefaultMaxCallsPerApplication), "concurrent calls of an application that sets no maxConcurrentCalls (0: no cap)")
	f.str(&callsAcct, "max-calls-per-account", strconv.Itoa(server.DefaultMaxCallsPerAccount), "concurrent calls of an account (0: no cap)")
	f.str(&callsSrc, "max-calls-per-source", strconv.Itoa(server.DefaultMaxCallsPerSource), "concurrent inbound calls from one IP address; trunks and --sip-trusted-cidrs are not capped (0: no cap)")
	return func() error {
		for _, c := range strings.Split(trusted, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				ip, ierr := netip.ParseAddr(c)
				if ierr != nil {
					return fmt.Errorf("--sip-trusted-cidrs %q: want CIDRs such as 192.0.2.0/24", c)
				}
				p = netip.PrefixFrom(ip, ip.BitLen())
			}
			cfg.TrustedCIDRs = append(cfg.TrustedCIDRs, p.Masked())
		}
		var flood int
		ints := []struct {
			name, in string
			out      *int
			min      int
		}{
			{"--sip-flood-limit", floodLimit, &flood, 0},
			{"--auth-fail-limit", authLimit, &cfg.SIPGuard.AuthLimit, 1},
			{"--auth-fail-target-limit", targetLimit, &cfg.SIPGuard.TargetLimit, 1},
			{"--sip-max-connections", maxConns, &cfg.SIPStream.MaxConns, 0},
			{"--sip-max-connections-per-ip", maxPerIP, &cfg.SIPStream.MaxConnsPerIP, 1},
			{"--sip-max-message-bytes", maxMsg, &cfg.SIPStream.MaxMessageBytes, 1024},
			{"--http-max-connections", httpConns, &cfg.HTTPMaxConns, 1},
			{"--max-calls-per-application", callsApp, &cfg.MaxCallsPerApplication, 0},
			{"--max-calls-per-account", callsAcct, &cfg.MaxCallsPerAccount, 0},
			{"--max-calls-per-source", callsSrc, &cfg.MaxCallsPerSource, 0},
		}
		for _, i := range ints {
			n, err := strconv.Atoi(i.in)
			if err != nil || n < i.min {
				return fmt.Errorf("%s %q: want an integer of at least %d", i.name, i.in, i.min)
			}
			*i.out = n
		}
		cfg.SIPGuard.FloodLimit = flood
		if flood == 0 {
			cfg.SIPGuard.FloodLimit = -1 // off
		}
		durs := []struct {
			name, in string
			out      *time.Duration
		}{
			{"--sip-flood-window", floodWindow, &cfg.SIPGuard.FloodWindow},
			{"--ban-time", banTime, &cfg.SIPGuard.BanTime},
			{"--sip-idle-timeout", idle, &cfg.SIPStream.IdleTimeout},
			{"--sip-message-timeout", message, &cfg.SIPStream.MessageTimeout},
			{"--sip-tls-handshake-timeout", handshake, &cfg.SIPStream.HandshakeTimeout},
		}
		for _, d := range durs {
			v, err := time.ParseDuration(d.in)
			if err != nil || v <= 0 {
				return fmt.Errorf("%s %q: want a positive duration such as 10s", d.name, d.in)
			}
			*d.out = v
		}
		// The API counts failed authentications with the same budgets.
		cfg.HTTPGuard.AuthLimit, cfg.HTTPGuard.TargetLimit, cfg.HTTPGuard.BanTime = cfg.SIPGuard.AuthLimit, cfg.SIPGuard.TargetLimit, cfg.SIPGuard.BanTime
		return nil
	}
}
