// Package trunkops runs SIP trunks: which application an INVITE to an
// attached phone number reaches and from which addresses (the front door's
// number routes), which headers of a trunk's INVITE become call variables,
// where and how an outbound call to a phone number is dialled, and the
// REGISTER bindings kept at customers' PBXes. Health probes, discovery,
// failover and verification of trunks belong here too. It uses sip for the
// wire and store for state; the call engine reaches it through the
// interfaces it defines (calls.Trunks).
package trunkops

import (
	"log/slog"

	"github.com/wasmvoice/wasmvoice/store"
)

// Trunks answers the front door's number lookups (sip.Numbers) and the call
// engine's routing and header-mapping questions (calls.Trunks).
type Trunks struct {
	store    *store.Store
	log      *slog.Logger
	health   *Health // nil: no probe results to fail over on
	alerts   *Alerts // nil: call outcomes are not counted
	failover failoverState
}

// New returns the trunks of st.
func New(st *store.Store, log *slog.Logger) *Trunks {
	if log == nil {
		log = slog.Default()
	}
	return &Trunks{store: st, log: log.With("caller", "trunks"), failover: failoverState{active: map[string]string{}}}
}
