package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// SIPRoute is a configuration with its trunk's settings merged in: what the
// call engine needs to accept or place a call for the number.
type SIPRoute struct {
	Configuration SIPConfiguration
	Trunk         *SIPTrunk // nil when not trunk-bound
	// Destination is the peer (outbound) or forwarding target (inbound), with
	// options overriding the URI; HasDestination is false when there is none.
	Destination    sipdest.Destination
	HasDestination bool
	SecureMedia    bool
	Username       string // digest credentials to answer the peer's 401/407 with
	Password       string
	AuthMode       AuthMode // inbound: how INVITEs are authorized
	Register       RegisterAuth
	PBXPassword    string // register mode: the password the PBX holds (and the server registers with)
	ApplicationID  string // inbound: the voice application that answers, "" when none
	Headers        []headermap.Rule
}

// ResolveSIPRoute merges a configuration with its trunk (nil when none).
func ResolveSIPRoute(c SIPConfiguration, t *SIPTrunk) SIPRoute {
	r := SIPRoute{Configuration: c, Trunk: t, Headers: c.Headers, AuthMode: c.AuthMode, Register: c.Register, ApplicationID: c.ApplicationID,
		SecureMedia: c.Options.SecureMedia, Username: c.Options.SIPUsername, Password: c.Options.SIPPassword}
	r.Destination, r.HasDestination = effectiveEndpoint(c.SIPEndpoint, c.Options, t)
	if t != nil {
		r.SecureMedia = r.SecureMedia || t.Options.SecureMedia
		if r.Username == "" {
			r.Username, r.Password = t.Options.SIPUsername, t.Options.SIPPassword
		}
		if c.AuthMode != AuthRegister {
			r.AuthMode, r.Register = t.AuthMode, t.Register
		}
	}
	if r.AuthMode == "" {
		r.AuthMode = AuthIP
	}
	if r.AuthMode == AuthRegister {
		r.PBXPassword = DeriveRegisterPassword(r.Register.Username, r.Register.Password)
	}
	return r
}

func (s *Store) resolveAll(ctx context.Context, cs []SIPConfiguration) ([]SIPRoute, error) {
	trunks := map[string]*SIPTrunk{}
	out := make([]SIPRoute, 0, len(cs))
	for _, c := range cs {
		var t *SIPTrunk
		if c.TrunkID != "" {
			if t = trunks[c.TrunkID]; t == nil {
				tr, err := s.SIPTrunk(ctx, c.AccountID, c.TrunkID)
				if err != nil {
					return nil, err
				}
				t = &tr
				trunks[c.TrunkID] = t
			}
		}
		out = append(out, ResolveSIPRoute(c, t))
	}
	return out, nil
}

// InboundSIPRoutes returns every inbound route of a number across accounts.
// userPart is the Request-URI user part of an INVITE from a trunk; it is
// looked up as given and in its E.164 form (trunks send 14150000000 as often
// as +14150000000). The caller picks the route whose trunk, source address or
// credentials match the request.
func (s *Store) InboundSIPRoutes(ctx context.Context, userPart string) ([]SIPRoute, error) {
	cands := []string{userPart}
	if e, err := NormalizePhoneNumber(userPart, false); err == nil && e != userPart {
		cands = append(cands, e)
	}
	q, args, err := sqlx.In("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE phone_number IN (?) AND direction = ? ORDER BY route_key, id",
		cands, string(headermap.Inbound))
	if err != nil {
		return nil, fmt.Errorf("inbound routes of %s: %w", userPart, err)
	}
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("inbound routes of %s: %w", userPart, err)
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return nil, err
	}
	return s.resolveAll(ctx, cs)
}

// OutboundSIPRoute returns the route an account's call to (or from) number
// takes: its configuration without a trunk, else its most recently updated
// trunk-bound one. ErrNotFound when the number has no outbound configuration.
func (s *Store) OutboundSIPRoute(ctx context.Context, accountID, number string) (SIPRoute, error) {
	cs, err := s.SIPConfigurations(ctx, accountID, number)
	if err != nil {
		return SIPRoute{}, err
	}
	c, ok, _ := PickSIPConfiguration(cs, headermap.Outbound, "", false)
	if !ok {
		return SIPRoute{}, fmt.Errorf("outbound route of %s: %w", number, ErrNotFound)
	}
	rs, err := s.resolveAll(ctx, []SIPConfiguration{c})
	if err != nil {
		return SIPRoute{}, err
	}
	return rs[0], nil
}

// RegistrationSIPRoutes returns every inbound route on the node whose
// effective auth mode is register (its own, or its trunk's): the REGISTER
// client registers each to its Destination with Register.Username and
// PBXPassword. Routes without a destination are left out (nowhere to register).
func (s *Store) RegistrationSIPRoutes(ctx context.Context) ([]SIPRoute, error) {
	rs, err := s.routesWhere(ctx, `direction = ? AND (auth_mode = ? OR trunk_id IN (SELECT id FROM sip_trunks WHERE auth_mode = ?))`,
		string(headermap.Inbound), string(AuthRegister), string(AuthRegister))
	if err != nil {
		return nil, fmt.Errorf("registration routes: %w", err)
	}
	out := rs[:0]
	for _, r := range rs {
		if r.AuthMode == AuthRegister && r.HasDestination {
			out = append(out, r)
		}
	}
	return out, nil
}

// SIPEndpoints returns the distinct hosts of every SIP endpoint on the node
// (configurations and trunks of all accounts): the addresses of the trunks,
// which the front door trusts not to flood it.
func (s *Store) SIPEndpoints(ctx context.Context) ([]string, error) {
	var eps []string
	err := s.db.SelectContext(ctx, &eps, `SELECT sip_endpoint FROM sip_configurations WHERE sip_endpoint <> ''
		UNION SELECT sip_endpoint FROM sip_trunks WHERE sip_endpoint <> ''`)
	if err != nil {
		return nil, fmt.Errorf("sip endpoints: %w", err)
	}
	seen := map[string]bool{}
	var hosts []string
	for _, ep := range eps {
		d, err := sipdest.Parse(ep)
		if err != nil || seen[d.Host] {
			continue
		}
		seen[d.Host] = true
		hosts = append(hosts, d.Host)
	}
	return hosts, nil
}

// OutboundSIPRoutes returns every outbound route on the node that has a
// destination (configurations of all accounts, resolved with their trunks):
// the endpoints the trunk health probes watch.
func (s *Store) OutboundSIPRoutes(ctx context.Context) ([]SIPRoute, error) {
	rs, err := s.routesWhere(ctx, "direction = ?", string(headermap.Outbound))
	if err != nil {
		return nil, fmt.Errorf("outbound routes: %w", err)
	}
	out := rs[:0]
	for _, r := range rs {
		if r.HasDestination {
			out = append(out, r)
		}
	}
	return out, nil
}

// routesWhere returns the node's configurations matching where, resolved
// with their trunks, in account, number and route order.
func (s *Store) routesWhere(ctx context.Context, where string, args ...any) ([]SIPRoute, error) {
	var rows []sipConfigRow
	err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE "+where+
		" ORDER BY account_id, phone_number, route_key"), args...)
	if err != nil {
		return nil, err
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return nil, err
	}
	return s.resolveAll(ctx, cs)
}
