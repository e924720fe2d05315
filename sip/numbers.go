package sip

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// NumberRoute is one way an INVITE to an attached phone number
// (sip:+14150000000@<domain>, the form trunks send) may be accepted: the
// application that answers it, and how the sender is authorized. A route
// accepts an INVITE from one of AllowedSources (auth mode ip) or with
// digest credentials of DigestUser (auth mode register); a route with
// neither accepts nothing.
type NumberRoute struct {
	// ID names the route for the call engine (the front door never reads it).
	ID string
	// TrunkID is the trunk the number is attached to ("" when none), for
	// the call's record (the front door never reads it either).
	TrunkID string
	// Number is the attached number as the routing stores it (E.164, or a
	// DID or extension of a trunk).
	Number string
	// Application answers the call; its own inbound SIP settings (enabled,
	// source IPs, password, regions) govern its sip:<applicationId> URI and
	// are not applied to trunk calls, which the route authorizes instead.
	Application Application
	// AllowedSources are the trunk's addresses, for auth mode ip.
	AllowedSources []netip.Prefix
	// DigestUser, HA1MD5 and HA1SHA256 are the register-mode credentials
	// for the realm given to SIPNumberRoutes; DigestUser "" means none.
	DigestUser        string
	HA1MD5, HA1SHA256 string
}

// Numbers resolves a Request-URI user part that is a phone number to its
// routes (none when the number is not attached). An Applications value that
// also implements Numbers gets INVITEs to phone numbers routed through it;
// realm is the digest realm the HA1 values must be computed for.
type Numbers interface {
	SIPNumberRoutes(ctx context.Context, realm, userPart string) ([]NumberRoute, error)
}

// maxNumberLen bounds the user parts looked up as phone numbers (E.164 has
// at most 15 digits; trunk DIDs and extensions are shorter still).
const maxNumberLen = 32

// isNumberUser reports whether a Request-URI user part names a phone
// number: an optional + and then digits only. Application IDs are UUIDs,
// so the two never overlap.
func isNumberUser(u string) bool {
	d := strings.TrimPrefix(u, "+")
	if d == "" || len(d) > maxNumberLen {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// checkNumber runs step 3 onwards of the front door for an INVITE to a
// phone number: a route must exist and must accept the sender, by source
// address first (no challenge for IP-authorized trunks), else by digest.
//
// A known trunk (a trusted source) gets precise answers: 404 for a number
// nobody attached, 403 for one it may not use. Anyone else gets what a
// register-mode number answers, whether the number exists or not: 407, then
// 401 for credentials that do not verify, so numbers cannot be enumerated.
func (s *Server) checkNumber(ctx context.Context, req *sip.Request, src netip.AddrPort, now time.Time) verdict {
	number := req.Recipient.User
	target := "num:" + number
	routes, err := s.numbers.SIPNumberRoutes(ctx, s.cfg.Domain, number)
	if err != nil {
		return verdict{status: sip.StatusInternalServerError, reason: reasonStoreError, err: err, source: src, target: target}
	}
	ip := src.Addr().Unmap()
	known := s.cfg.Guard == nil || s.cfg.Guard.Trusted(ip)
	if len(routes) == 0 && known {
		return verdict{status: sip.StatusNotFound, reason: reasonUnknownNumber, source: src, target: target}
	}
	digest := false
	for i := range routes {
		r := &routes[i]
		for _, p := range r.AllowedSources {
			if p.Contains(ip) {
				return verdict{app: r.Application, route: r, source: src, target: target}
			}
		}
		digest = digest || r.DigestUser != ""
	}
	if !digest && known {
		return verdict{status: sip.StatusForbidden, reason: reasonSourceIP, source: src, target: target}
	}
	v := s.checkNumberDigest(req, routes, target, ip, now)
	if v.status == sip.StatusUnauthorized && len(routes) == 0 {
		v.reason = reasonUnknownNumber
	} else if v.status == sip.StatusUnauthorized && !digest {
		v.reason = reasonSourceIP
	}
	v.source, v.target = src, target
	return v
}

// checkNumberDigest checks the credentials of an INVITE to a number against
// its register-mode routes (none for a number that is not attached, or
// attached for trunk addresses only: then no credentials verify).
func (s *Server) checkNumberDigest(req *sip.Request, routes []NumberRoute, target string, src netip.Addr, now time.Time) verdict {
	cred, err := findCredentials(req, s.cfg.Domain)
	if err != nil {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonNoCredentials, challenge: true}
	}
	// A nonce that is not ours gets a new challenge whether or not the
	// number has a route checkDigest would look at.
	if _, err := s.nonces.verify(cred.Nonce, now, nonceBinding{target: target, source: src, realm: s.cfg.Domain}); err != nil && !errors.Is(err, errNonceStale) {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonBadNonce, challenge: true}
	}
	// Several routes may share a user name (one PBX account, different
	// passwords per number set): each is tried; a failed check records
	// nothing, so trying the next one is safe.
	last := verdict{status: sip.StatusUnauthorized, reason: reasonBadCredentials, err: errBadCredentials}
	for i := range routes {
		r := &routes[i]
		if r.DigestUser == "" || r.DigestUser != cred.Username {
			continue
		}
		v, _ := s.checkDigest(req, &Application{ID: r.DigestUser, HA1MD5: r.HA1MD5, HA1SHA256: r.HA1SHA256}, target, src, now)
		if v.status == 0 {
			return verdict{app: r.Application, route: r}
		}
		last = v
		if v.reason != reasonBadCredentials {
			break // the nonce is bad, stale or replayed: no route accepts it
		}
	}
	return last
}
