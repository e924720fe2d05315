package trunkops

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// The metric keeps the name it had when the engine routed trunk calls.
var trunkDials = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_server_trunk_dials_total", Help: "Outbound legs to phone numbers by how they were routed (number, from, none).",
}, []string{"route"})

var _ calls.Trunks = (*Trunks)(nil)

// Route returns how to dial the phone number r.Number: through the
// account's outbound SIP route, with its credentials, transport, SRTP and
// outbound header mappings (fed by the call's variables). calls.ErrNoRoute
// when the number has no route.
func (t *Trunks) Route(ctx context.Context, r calls.RouteRequest) (calls.DialTarget, error) {
	if !sipdest.IsE164(r.Number) {
		return calls.DialTarget{}, fmt.Errorf("%w for %s", calls.ErrNoRoute, r.Number)
	}
	route, err := t.outboundRoute(ctx, r.AccountID, r.Number, sipdest.UserPart(r.From))
	if err != nil {
		return calls.DialTarget{}, err
	}
	tgt := trunkTarget(route, r.Number, r.Variables)
	if err := t.applySettings(ctx, route, &tgt, r.Number); err != nil {
		return calls.DialTarget{}, err
	}
	return tgt, nil
}

// outboundRoute picks the SIP route of an account's call to the phone number
// to: the number's own outbound configuration, else the one of the caller ID
// it is placed from (a customer's trunk carrying all its numbers' calls).
// calls.ErrNoRoute when neither number has one.
func (t *Trunks) outboundRoute(ctx context.Context, accountID, to, from string) (store.SIPRoute, error) {
	for i, n := range []string{to, from} {
		if n == "" || !sipdest.IsE164(n) || (i == 1 && n == to) {
			continue
		}
		r, err := t.store.OutboundSIPRoute(ctx, accountID, n)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return store.SIPRoute{}, fmt.Errorf("outbound route of %s: %w", n, err)
		}
		if !r.HasDestination {
			continue // a trunk-bound number whose trunk has no endpoint
		}
		trunkDials.WithLabelValues([]string{"number", "from"}[i]).Inc()
		return r, nil
	}
	trunkDials.WithLabelValues("none").Inc()
	return store.SIPRoute{}, fmt.Errorf("%w for %s", calls.ErrNoRoute, to)
}

// trunkTarget builds the dial target of a call to number through route r.
func trunkTarget(r store.SIPRoute, number string, vars map[string]string) calls.DialTarget {
	d := r.Destination
	d.User = number
	t := calls.DialTarget{URI: d.URI(), Username: r.Username, Password: r.Password, SRTP: r.SecureMedia,
		Route: store.CallSIPRoute{PhoneNumber: r.Configuration.PhoneNumber, ConfigurationID: r.Configuration.ID, TrunkID: r.Configuration.TrunkID}}
	hs := headermap.ApplyOutbound(r.Headers, vars)
	names := make([]string, 0, len(hs))
	for n := range hs {
		names = append(names, n)
	}
	sort.Strings(names) // a stable INVITE for the same rules and variables
	for _, n := range names {
		for _, v := range hs[n] {
			t.Headers = append(t.Headers, sip.Header{Name: n, Value: v})
		}
	}
	return t
}
