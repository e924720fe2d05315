package calls

import (
	"context"
	"net/netip"

	"github.com/wasmvoice/wasmvoice/sip"
)

// SIPDialer places outbound legs with the node's SIP server.
type SIPDialer struct{ Server *sip.Server }

var _ Dialer = SIPDialer{}

// Dial implements Dialer.
func (d SIPDialer) Dial(ctx context.Context, r sip.DialRequest) (OutboundLeg, error) {
	out, err := d.Server.Dial(ctx, r)
	if err != nil {
		return nil, err
	}
	return sipOutbound{out}, nil
}

// sipOutbound is a sip.OutboundCall as an OutboundLeg.
type sipOutbound struct{ *sip.OutboundCall }

func (o sipOutbound) CallID() string { return o.OutboundCall.CallID }

// Source is where the callee's answer came from (zero when unknown).
func (o sipOutbound) Source() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(o.Response.Source())
	return ap
}
