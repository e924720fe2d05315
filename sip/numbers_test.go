package sip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

const (
	numIP       = "+14150000001" // auth mode ip, trunk at 127.0.0.0/8
	numRegister = "+14150000002" // auth mode register
	numNoAuth   = "+14150000003" // a route that accepts nothing
	numBroken   = "+14150000004" // the lookup fails
	pbxUser     = "pbx-acme"
	pbxPassword = "derived-PBX-pass-1"
)

// memNumbers is testApps with phone-number routes.
type memNumbers struct {
	memApps
	routes map[string][]NumberRoute
}

func (m memNumbers) SIPNumberRoutes(_ context.Context, realm, user string) ([]NumberRoute, error) {
	if realm != testDomain {
		return nil, errors.New("wrong realm " + realm)
	}
	if user == numBroken {
		return nil, errors.New("store down")
	}
	return m.routes[user], nil
}

func newNumberServer(t testing.TB) *Server {
	t.Helper()
	apps := testApps(t)
	target := apps[appIPOnly]
	routes := map[string][]NumberRoute{
		numIP: {
			{ID: "cfg-other", Number: numIP, Application: apps[appPassword], AllowedSources: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
			{ID: "cfg-ip", Number: numIP, Application: target, AllowedSources: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		},
		numRegister: {
			{ID: "cfg-reg", Number: numRegister, Application: target, DigestUser: pbxUser,
				HA1MD5: mustHA1(t, "MD5", pbxUser, pbxPassword), HA1SHA256: mustHA1(t, "SHA-256", pbxUser, pbxPassword)},
			// The same PBX user with another password, on another trunk.
			{ID: "cfg-reg2", Number: numRegister, Application: apps[appPassword], DigestUser: pbxUser,
				HA1MD5: mustHA1(t, "MD5", pbxUser, "second-PBX-pass-2"), HA1SHA256: mustHA1(t, "SHA-256", pbxUser, "second-PBX-pass-2")},
		},
		numNoAuth: {{ID: "cfg-none", Number: numNoAuth, Application: target}},
	}
	s, err := NewServer(testConfig(), memNumbers{apps, routes}, newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// INVITEs to a phone number are authorized by the number's routes: source
// address (ip), else digest against the register credentials; the route
// that matched decides the application.
func TestCheckNumber(t *testing.T) {
	s := newNumberServer(t)
	now := time.Now()
	ruri := func(n string) string { return "sip:" + n + "@" + testDomain }
	cred := func(n, user, pw string) string { return testCredentials(s, "INVITE", ruri(n), user, pw, "MD5", 1) }
	cases := []struct {
		name    string
		o       reqOpts
		status  int
		reason  string
		routeID string
	}{
		{"ip_trunk", reqOpts{app: numIP, toUser: "someone-else", maxForwards: 70}, 0, "", "cfg-ip"},
		{"ip_other_source", reqOpts{app: numIP, maxForwards: 70, source: "198.51.100.7:5060"}, 403, reasonSourceIP, ""},
		{"ip_matches_second_trunk", reqOpts{app: numIP, maxForwards: 70, source: "203.0.113.9:5060"}, 0, "", "cfg-other"},
		{"unknown_number", reqOpts{app: "+14159999999", maxForwards: 70}, 404, reasonUnknownNumber, ""},
		{"route_without_auth", reqOpts{app: numNoAuth, maxForwards: 70}, 403, reasonSourceIP, ""},
		{"lookup_error", reqOpts{app: numBroken, maxForwards: 70}, 500, reasonStoreError, ""},
		{"register_challenge", reqOpts{app: numRegister, maxForwards: 70}, 407, reasonNoCredentials, ""},
		{"register_wrong_password", reqOpts{app: numRegister, maxForwards: 70, auth: cred(numRegister, pbxUser, "wrong-password")}, 401, reasonBadCredentials, ""},
		{"register_unknown_user", reqOpts{app: numRegister, maxForwards: 70, auth: cred(numRegister, "intruder", pbxPassword)}, 401, reasonBadCredentials, ""},
		// The nonce was issued for another number: a new challenge.
		{"register_digest_for_other_number", reqOpts{app: numRegister, maxForwards: 70, auth: cred(numIP, pbxUser, pbxPassword)}, 407, reasonBadNonce, ""},
		{"register_ok", reqOpts{app: numRegister, maxForwards: 70, auth: cred(numRegister, pbxUser, pbxPassword)}, 0, "", "cfg-reg"},
		{"register_second_route_same_user", reqOpts{app: numRegister, maxForwards: 70, auth: cred(numRegister, pbxUser, "second-PBX-pass-2")}, 0, "", "cfg-reg2"},
		{"register_ok_authorization_header", reqOpts{app: numRegister, maxForwards: 70, authHeader: "Authorization", auth: cred(numRegister, pbxUser, pbxPassword)}, 0, "", "cfg-reg"},
		{"front_door_checks_first", reqOpts{app: numIP, maxForwards: 0}, 483, reasonTooManyHops, ""},
		{"application_uri_still_works", reqOpts{app: appIPOnly, maxForwards: 70}, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := s.checkInvite(context.Background(), parseInvite(t, c.o), now)
			if v.status != c.status || v.reason != c.reason {
				t.Fatalf("got %d %q (%v), want %d %q", v.status, v.reason, v.err, c.status, c.reason)
			}
			switch {
			case c.routeID == "" && v.route != nil:
				t.Fatalf("route %q set", v.route.ID)
			case c.routeID != "" && (v.route == nil || v.route.ID != c.routeID || v.app.ID != v.route.Application.ID):
				t.Fatalf("route %+v, app %q; want %s", v.route, v.app.ID, c.routeID)
			}
		})
	}
}

func TestIsNumberUser(t *testing.T) {
	for u, want := range map[string]bool{
		"+14150000000": true, "14150000000": true, "1001": true, "+": false, "": false,
		"0b7c1f6e-5a1d-4c2e-9f1a-000000000001": false, "+1415a": false, "123456789012345678901234567890123": false,
	} {
		if got := isNumberUser(u); got != want {
			t.Errorf("isNumberUser(%q) = %v", u, got)
		}
	}
}

// BenchmarkCheckNumber is the front door's cost for an INVITE from an
// IP-authorized trunk (route lookup excluded: memNumbers is a map).
func BenchmarkCheckNumber(b *testing.B) {
	s := newNumberServer(b)
	req := parseInvite(b, reqOpts{app: numIP, maxForwards: 70})
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if v := s.checkInvite(ctx, req, now); v.status != 0 {
			b.Fatalf("refused: %d %s", v.status, v.reason)
		}
	}
}
