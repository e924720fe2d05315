package trunkops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// Inbound calls from SIP trunks: an INVITE to sip:+14150000000@<domain> is
// resolved through the number's inbound SIP configurations (Trunks
// implements sip.Numbers), and once accepted its headers are mapped into
// call variables by the configuration's inbound rules.

// The metric keeps the name it had when the engine mapped trunk calls.
var trunkInboundMapped = promauto.NewCounter(prometheus.CounterOpts{
	Name: "wasmvoice_server_trunk_inbound_calls_total",
	Help: "Calls from SIP trunks to attached numbers that the front door accepted.",
})

// resolveTimeout bounds the DNS lookup of a trunk's host name during the
// front-door check of one INVITE.
const resolveTimeout = 2 * time.Second

var _ sip.Numbers = (*Trunks)(nil)

// SIPNumberRoutes returns the routes of the number userPart names: each
// inbound configuration with an application, authorized by the addresses of
// the trunk (auth mode ip) or by digest with the register credentials and
// the PBX password (auth mode register). Configurations whose application
// is gone or belongs to another account, and those of accounts without the
// sip feature, route nowhere.
func (t *Trunks) SIPNumberRoutes(ctx context.Context, realm, userPart string) ([]sip.NumberRoute, error) {
	routes, err := t.store.InboundSIPRoutes(ctx, userPart)
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
			account, err := t.store.Account(ctx, acct)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			ok = err == nil && account.HasFeature(store.FeatureSIP)
			entitled[acct] = ok
		}
		if !ok {
			continue
		}
		app, err := t.store.ApplicationByID(ctx, r.ApplicationID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && app.AccountID != r.Configuration.AccountID) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sa, err := SIPApplication(app)
		if err != nil {
			return nil, err
		}
		nr := sip.NumberRoute{ID: r.Configuration.ID, TrunkID: r.Configuration.TrunkID, Number: r.Configuration.PhoneNumber, Application: sa}
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
			nr.AllowedSources = t.trunkSources(ctx, r)
		}
		out = append(out, nr)
	}
	return out, nil
}

// trunkSources are the addresses an ip-mode route accepts INVITEs from: its
// inbound sip_endpoint (or its trunk's), else the provider its number's
// outbound configuration sends to. A host name that does not resolve
// accepts nothing, so a typo fails closed.
func (t *Trunks) trunkSources(ctx context.Context, r store.SIPRoute) []netip.Prefix {
	host := ""
	if r.HasDestination {
		host = r.Destination.Host
	} else if out, err := t.store.OutboundSIPRoute(ctx, r.Configuration.AccountID, r.Configuration.PhoneNumber); err == nil && out.HasDestination {
		host = out.Destination.Host
	}
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Prefix{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())}
	}
	lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", host)
	if err != nil {
		t.log.Info("trunk host does not resolve; its calls are refused", "host", host, "configuration", r.Configuration.ID, "error", err)
		return nil
	}
	ps := make([]netip.Prefix, 0, len(ips))
	for _, ip := range ips {
		ps = append(ps, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return ps
}

// Inbound reads an INVITE a trunk sent to an attached number with the
// configuration that routed it: its inbound rules map the headers (the X-*
// ones the front door stripped included) into call variables, and its codec
// settings (the number's, else its trunk's) order the answer. A
// configuration removed meanwhile is store.ErrNotFound.
func (t *Trunks) Inbound(ctx context.Context, route *sip.NumberRoute, headers map[string][]string) (calls.TrunkInbound, error) {
	trunkInboundMapped.Inc()
	routes, err := t.store.InboundSIPRoutes(ctx, route.Number)
	if err != nil {
		return calls.TrunkInbound{}, err
	}
	for _, r := range routes {
		if r.Configuration.ID != route.ID {
			continue
		}
		in := calls.TrunkInbound{Variables: headermap.ApplyInbound(r.Headers, headers, nil)}
		ts, err := t.store.EffectiveTrunkSettings(ctx, r.Configuration.AccountID, r.Configuration.PhoneNumber, r.Configuration.TrunkID)
		if err != nil {
			return in, fmt.Errorf("trunk settings of %s: %w", r.Configuration.PhoneNumber, err)
		}
		if ts.Codecs != nil {
			in.Codecs = AnswerCodecs(ts.Codecs.Codecs)
		}
		return in, nil
	}
	return calls.TrunkInbound{}, fmt.Errorf("configuration %s: %w", route.ID, store.ErrNotFound)
}

// SIPApplication is app as the SIP front door checks it.
func SIPApplication(app store.Application) (sip.Application, error) {
	out := sip.Application{
		ID: app.ID, AccountID: app.AccountID, InboundEnabled: app.InboundSIPEnabled,
		PasswordAuth: app.PasswordAuthEnabled, HA1MD5: app.SIPHA1MD5, HA1SHA256: app.SIPHA1SHA256,
		AllowedRegions: app.AllowedRegions, DigestAlgorithms: app.SIPDigestAlgorithms,
	}
	for _, c := range app.AllowedSourceIPs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return sip.Application{}, fmt.Errorf("application %s: stored CIDR %q: %w", app.ID, c, err)
		}
		out.AllowedSourceIPs = append(out.AllowedSourceIPs, p)
	}
	// Enabled with an empty region list never happens through the API; treat
	// it as no region rather than every region, so a bad row fails closed.
	if app.InboundSIPEnabled && len(out.AllowedRegions) == 0 {
		out.AllowedRegions = []string{"-"}
	}
	return out, nil
}
