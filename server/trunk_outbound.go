package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

var trunkDials = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_server_trunk_dials_total", Help: "Outbound legs to phone numbers by how they were routed (number, from, none).",
}, []string{"route"})

// dialTarget is where and how an outbound leg is placed.
type dialTarget struct {
	URI                string
	Username, Password string
	Headers            []sip.Header
	SRTP               bool
}

// outboundRoute picks the SIP route of an account's call to the phone number
// to: the number's own outbound configuration, else the one of the caller ID
// it is placed from (a customer's trunk carrying all its numbers' calls).
// ErrNoRoute when neither number has one.
func (e *Engine) outboundRoute(ctx context.Context, accountID, to, from string) (store.SIPRoute, error) {
	for i, n := range []string{to, from} {
		if n == "" || !e164.MatchString(n) || (i == 1 && n == to) {
			continue
		}
		r, err := e.store.OutboundSIPRoute(ctx, accountID, n)
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
	return store.SIPRoute{}, fmt.Errorf("%w for %s", ErrNoRoute, to)
}

// routeDial turns a dialled address into a dialTarget: sip:/sips: URIs are
// dialled as given (SRTP for sips:), phone numbers through the account's
// outbound SIP route with its credentials, transport, SRTP and outbound
// header mappings (fed by the call's variables).
func (c *Call) routeDial(ctx context.Context, addr, from string) (dialTarget, error) {
	if isSIPURI(addr) {
		return dialTarget{URI: addr, SRTP: strings.HasPrefix(addr, "sips:")}, nil
	}
	if !e164.MatchString(addr) {
		return dialTarget{}, fmt.Errorf("%w for %s", ErrNoRoute, addr)
	}
	r, err := c.e.outboundRoute(ctx, c.app.AccountID, addr, uriUser(from))
	if err != nil {
		return dialTarget{}, err
	}
	c.mu.Lock()
	vars := make(map[string]string, len(c.vars))
	for k, v := range c.vars {
		vars[k] = v
	}
	c.mu.Unlock()
	return trunkTarget(r, addr, vars), nil
}

// trunkTarget builds the dial target of a call to number through route r.
func trunkTarget(r store.SIPRoute, number string, vars map[string]string) dialTarget {
	d := r.Destination
	d.User = number
	t := dialTarget{URI: d.URI(), Username: r.Username, Password: r.Password, SRTP: r.SecureMedia}
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

// checkOutboundRoute is createCall's early check that a phone number can be
// reached, so a missing route is a 400 rather than a failed call.
func (e *Engine) checkOutboundRoute(ctx context.Context, accountID, to, from string) error {
	_, err := e.outboundRoute(ctx, accountID, to, from)
	if errors.Is(err, ErrNoRoute) {
		return &store.ValidationError{Field: "to", Value: to, Reason: "no outbound route for this number: attach it (or the from number) to a SIP configuration with an outbound sip_endpoint (POST /v1/sip/attach), or call a sip: URI"}
	}
	return err
}
