package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// Inbound calls from SIP trunks: an INVITE to sip:+14150000000@<domain> is
// resolved through the number's inbound SIP configurations (sipApps
// implements sip.Numbers), and once accepted its headers are mapped into
// call variables by the configuration's inbound rules.

var trunkInboundMapped = promauto.NewCounter(prometheus.CounterOpts{
	Name: "wasmvoice_server_trunk_inbound_calls_total",
	Help: "Calls from SIP trunks to attached numbers that the front door accepted.",
})

// trunkResolveTimeout bounds the DNS lookup of a trunk's host name during
// the front-door check of one INVITE.
const trunkResolveTimeout = 2 * time.Second

var _ sip.Numbers = sipApps{}

// SIPNumberRoutes returns the routes of the number userPart names: each
// inbound configuration with an application, authorized by the addresses of
// the trunk (auth mode ip) or by digest with the register credentials and
// the PBX password (auth mode register). Configurations whose application
// is gone or belongs to another account, and those of accounts without the
// sip feature, route nowhere.
func (a sipApps) SIPNumberRoutes(ctx context.Context, realm, userPart string) ([]sip.NumberRoute, error) {
	routes, err := a.st.InboundSIPRoutes(ctx, userPart)
	if err != nil {
		return nil, err
	}
	out := make([]sip.NumberRoute, 0, len(routes))
	entitled := map[string]bool{}
	for _, r := range routes {
		if r.ApplicationID == "" {
			continue
		}
		acct := r.Configuration.AccountID
		ok, seen := entitled[acct]
		if !seen {
			account, err := a.st.Account(ctx, acct)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			ok = err == nil && account.HasFeature(store.FeatureSIP)
			entitled[acct] = ok
		}
		if !ok {
			continue
		}
		app, err := a.st.ApplicationByID(ctx, r.ApplicationID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && app.AccountID != r.Configuration.AccountID) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sa, err := toSIPApplication(app)
		if err != nil {
			return nil, err
		}
		nr := sip.NumberRoute{ID: r.Configuration.ID, Number: r.Configuration.PhoneNumber, Application: sa}
		switch r.AuthMode {
		case store.AuthRegister:
			nr.DigestUser = r.Register.Username
			if nr.HA1MD5, err = sip.HA1("MD5", nr.DigestUser, realm, r.PBXPassword); err != nil {
				return nil, err
			}
			if nr.HA1SHA256, err = sip.HA1("SHA-256", nr.DigestUser, realm, r.PBXPassword); err != nil {
				return nil, err
			}
		default:
			nr.AllowedSources = a.trunkSources(ctx, r)
		}
		out = append(out, nr)
	}
	return out, nil
}

// trunkSources are the addresses an ip-mode route accepts INVITEs from: its
// inbound sip_endpoint (or its trunk's), else the provider its number's
// outbound configuration sends to. A host name that does not resolve
// accepts nothing, so a typo fails closed.
func (a sipApps) trunkSources(ctx context.Context, r store.SIPRoute) []netip.Prefix {
	host := ""
	if r.HasDestination {
		host = r.Destination.Host
	} else if out, err := a.st.OutboundSIPRoute(ctx, r.Configuration.AccountID, r.Configuration.PhoneNumber); err == nil && out.HasDestination {
		host = out.Destination.Host
	}
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Prefix{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())}
	}
	lctx, cancel := context.WithTimeout(ctx, trunkResolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", host)
	if err != nil {
		slog.Default().Info("trunk host does not resolve; its calls are refused", "host", host, "configuration", r.Configuration.ID, "err", err)
		return nil
	}
	ps := make([]netip.Prefix, 0, len(ips))
	for _, ip := range ips {
		ps = append(ps, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return ps
}

// applyTrunkInbound prepares a call from a trunk to an attached number: its
// "to" is the number, and the configuration's inbound header mappings turn
// the INVITE's headers (the X-* ones the front door stripped included) into
// call variables, before the sip.inbound module hook (which may refine them)
// and the first callback. A call to an application's SIP URI is untouched.
func (c *Call) applyTrunkInbound(ctx context.Context) {
	in := c.sipIn
	if in == nil || in.Number == nil {
		return
	}
	c.info.To = in.Number.Number
	trunkInboundMapped.Inc()
	routes, err := c.e.store.InboundSIPRoutes(ctx, in.Number.Number)
	if err != nil {
		c.logf(slog.LevelWarn, "sip", "trunk call to %s: header mappings not applied: %v", in.Number.Number, err)
		return
	}
	for _, r := range routes {
		if r.Configuration.ID != in.Number.ID {
			continue
		}
		vars := headermap.ApplyInbound(r.Headers, inviteHeaders(in), nil)
		c.setVars(vars)
		c.logf(slog.LevelInfo, "sip", "call from trunk to %s (configuration %s): %d variables mapped from headers", in.Number.Number, r.Configuration.ID, len(vars))
		return
	}
	c.logf(slog.LevelWarn, "sip", "trunk call to %s: configuration %s vanished; no header mappings applied", in.Number.Number, in.Number.ID)
}

// inviteHeaders are every header of the INVITE by name, including the X-*
// headers the front door removed from the request.
func inviteHeaders(in *sip.InboundCall) map[string][]string {
	hs := map[string][]string{}
	for _, h := range in.Request.Headers() {
		hs[h.Name()] = append(hs[h.Name()], h.Value())
	}
	for _, h := range in.XHeaders {
		hs[h.Name] = append(hs[h.Name], h.Value)
	}
	return hs
}
