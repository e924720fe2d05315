package sip

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// verdict is the outcome of the front-door checks on one INVITE.
type verdict struct {
	status    int    // 0 = accepted
	reason    string // metrics label and log attribute
	challenge bool   // add Proxy-Authenticate headers
	stale     bool   // challenge with stale=true
	err       error  // detail for the log
	app       Application
	owner     Application  // whose refusal it is, when app is left empty on purpose
	route     *NumberRoute // set when the Request-URI named an attached phone number
	source    netip.AddrPort
	// target is what the request tried to reach ("app:<id>", "num:<number>"):
	// challenges are bound to it, failed authentications count against it.
	target string
}

func reject(status int, reason string) verdict {
	return verdict{status: status, reason: reason}
}

// checkInvite runs the checks of the Inbound SIP URI guide in order. It reads
// req only.
func (s *Server) checkInvite(ctx context.Context, req *sip.Request, now time.Time) verdict {
	// 1. Max-Forwards; a missing header counts as 70.
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return reject(sip.StatusTooManyHops, reasonTooManyHops)
	}
	// 2. Our own branch or sent-by in the Via list.
	if s.looped(req) {
		return reject(sip.StatusLoopDetected, reasonLoop)
	}
	src, proxied, err := s.requestSource(req)
	if err != nil {
		return verdict{status: sip.StatusBadRequest, reason: reasonMalformed, err: err}
	}
	// The guard drops a banned or flooding source's packets before they are
	// parsed; behind a proxy those are the proxy's (trusted), so the
	// caller's own budget and ban are checked here. The proxy relays the
	// refusal (a silent drop would make it try the next node).
	if g := s.cfg.Guard; proxied && g != nil && !g.Allow(src.Addr()) {
		return verdict{status: sip.StatusForbidden, reason: reasonBanned, source: src}
	}

	// 3. The application named by the Request-URI user-part, or the
	// routes of the phone number it names (a call from a trunk).
	appID := req.Recipient.User
	if s.numbers != nil && isNumberUser(appID) {
		return s.checkNumber(ctx, req, src, now)
	}
	target := "app:" + appID
	refuse := func(status int, reason string) verdict {
		return verdict{status: status, reason: reason, source: src, target: target}
	}
	if appID == "" {
		return refuse(sip.StatusUnauthorized, reasonUnknownApp)
	}
	app, err := s.apps.SIPApplication(ctx, appID)
	switch {
	case errors.Is(err, ErrApplicationNotFound):
		return refuse(sip.StatusUnauthorized, reasonUnknownApp)
	case err != nil:
		v := refuse(sip.StatusInternalServerError, reasonStoreError)
		v.err = err
		return v
	}
	// From here the application is known: its account's debugger hears of
	// a refusal (owner), while the answer stays the same as for an unknown
	// one (app is left empty so the challenge tells nothing).
	refuse = func(status int, reason string) verdict {
		return verdict{status: status, reason: reason, source: src, target: target, owner: app}
	}
	if !app.InboundEnabled {
		return refuse(sip.StatusUnauthorized, reasonInboundDisabled)
	}
	// 4. Region.
	if !app.allowsRegion(s.cfg.Region) {
		return refuse(sip.StatusUnauthorized, reasonRegion)
	}
	// 5. Source address.
	if !app.allowsSource(src.Addr()) {
		return refuse(sip.StatusUnauthorized, reasonSourceIP)
	}
	// 6. Digest, only for password applications.
	digestUser := ""
	if app.PasswordAuth {
		v, user := s.checkDigest(req, &app, target, src.Addr(), now)
		if v.status != 0 {
			v.source, v.target, v.app = src, target, app // the challenge is the application's
			return v
		}
		digestUser = user
	}
	// 7. Every name for the target must be the application ID.
	to := req.To()
	if to == nil || to.Address.User != app.ID || (app.PasswordAuth && digestUser != app.ID) {
		return refuse(sip.StatusForbidden, reasonUserMismatch)
	}
	return verdict{app: app, source: src, target: target}
}

// checkDigest verifies the credentials of req against app (reached as
// target, from src) and returns the digest username on success. A nonce is
// good only for the target and address it was issued to; an expired one is
// answered stale=true only when the response in it is right, so a guesser
// learns nothing from it.
func (s *Server) checkDigest(req *sip.Request, app *Application, target string, src netip.Addr, now time.Time) (verdict, string) {
	cred, err := findCredentials(req, s.cfg.Domain)
	if err != nil {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonNoCredentials, challenge: true}, ""
	}
	if g := s.cfg.Guard; g != nil {
		if _, locked := g.TargetLocked(src, target); locked {
			return verdict{status: sip.StatusUnauthorized, reason: reasonAuthLocked}, ""
		}
	}
	issued, err := s.nonces.verify(cred.Nonce, now, nonceBinding{target: target, source: src, realm: s.cfg.Domain})
	stale := errors.Is(err, errNonceStale)
	if err != nil && !stale {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonBadNonce, challenge: true}, ""
	}
	if err := verifyDigest(cred, string(req.Method), &req.Recipient, app, s.digestAlgorithms(app)); err != nil {
		return verdict{status: sip.StatusUnauthorized, reason: reasonBadCredentials, err: err}, ""
	}
	if stale {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonStaleNonce, challenge: true, stale: true}, ""
	}
	// Record the count only now: unverified requests never touch the table.
	if !s.replay.observe(cred.Nonce, issued, uint32(cred.Nc), now) {
		return verdict{status: sip.StatusProxyAuthRequired, reason: reasonNonceReplay, challenge: true, stale: true}, ""
	}
	return verdict{}, cred.Username
}

// looped reports whether req already went through this server: a Via with
// our branch marker, or whose sent-by is our advertised address.
func (s *Server) looped(req *sip.Request) bool {
	for _, h := range req.GetHeaders("via") {
		via, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		if b, ok := via.Params.Get("branch"); ok && strings.HasPrefix(b, s.branchPrefix) {
			return true
		}
		port := via.Port
		if port == 0 {
			port = sip.DefaultPort(via.Transport)
		}
		if strings.EqualFold(via.Host, s.cfg.AdvertisedHost) && s.isOurPort(port) {
			return true
		}
	}
	return false
}

// isOurPort reports whether port is the advertised port or, when none is
// configured, the port of one of our listeners.
func (s *Server) isOurPort(port int) bool {
	if s.cfg.AdvertisedPort != 0 {
		return port == s.cfg.AdvertisedPort
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for l := range s.listeners {
		if l.port == port {
			return true
		}
	}
	return false
}
