package trunkops

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// TrustSync is how often the trunks' addresses are read again for the
// front door's trusted list.
const TrustSync = 15 * time.Second

// Addresses returns the addresses of every trunk endpoint on the node
// (inbound and outbound, host names resolved): the sources the front door
// never bans and answers precisely.
func (t *Trunks) Addresses(ctx context.Context) ([]netip.Prefix, error) {
	hosts, err := t.store.SIPEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, h := range hosts {
		if ip, err := netip.ParseAddr(h); err == nil {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", h)
		cancel()
		if err != nil {
			continue // a name that does not resolve is trusted with nothing
		}
		for _, ip := range ips {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	return out, nil
}

// KeepTrusted calls set with static plus the trunks' addresses now and every
// TrustSync until ctx ends.
func (t *Trunks) KeepTrusted(ctx context.Context, static []netip.Prefix, set func([]netip.Prefix)) {
	tick := time.NewTicker(TrustSync)
	defer tick.Stop()
	for {
		addrs, err := t.Addresses(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.log.Warn("read trunk addresses", "error", err)
			}
		} else {
			set(append(append([]netip.Prefix(nil), static...), addrs...))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
