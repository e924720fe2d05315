package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// sipApps lets the SIP front door look applications up in the store.
type sipApps struct{ st *store.Store }

var _ sip.Applications = sipApps{}

func (a sipApps) SIPApplication(ctx context.Context, id string) (sip.Application, error) {
	app, err := a.st.ApplicationByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sip.Application{}, fmt.Errorf("%w: %s", sip.ErrApplicationNotFound, id)
	}
	if err != nil {
		return sip.Application{}, err
	}
	return toSIPApplication(app)
}

func toSIPApplication(app store.Application) (sip.Application, error) {
	out := sip.Application{
		ID: app.ID, AccountID: app.AccountID, InboundEnabled: app.InboundSIPEnabled,
		PasswordAuth: app.PasswordAuthEnabled, HA1MD5: app.SIPHA1MD5, HA1SHA256: app.SIPHA1SHA256,
		AllowedRegions: app.AllowedRegions,
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
