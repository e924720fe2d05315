package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

func TestNormalizePhoneNumber(t *testing.T) {
	tests := []struct {
		in      string
		trunk   bool
		want    string
		errHint string
	}{
		{in: "+14150000000", want: "+14150000000"},
		{in: "+1 (415) 000-0000", want: "+14150000000"},
		{in: "14150000000", want: "+14150000000"},
		{in: "4150000000", want: "+14150000000"},
		{in: "415.000.0000", want: "+14150000000"},
		{in: "0044 20 7946 0000", want: "+442079460000"},
		{in: "+442079460000", trunk: true, want: "+442079460000"},
		{in: "1001", trunk: true, want: "1001"},
		{in: "4150000000", trunk: true, want: "4150000000"},
		{in: "support*2", trunk: true, want: "support*2"},
		{in: "1001", errHint: "DIDs and extensions need trunk_id"},
		{in: "+0123456789", errHint: "not starting with 0"},
		{in: "+1234567", errHint: "8 to 15 digits"},
		{in: "+1234567890123456", errHint: "8 to 15 digits"},
		{in: "+1415abc0000", errHint: "not an E.164"},
		{in: "", errHint: "empty"},
		{in: "ext 10", trunk: true, errHint: "DID or extension"},
		{in: "+1415;x", trunk: true, errHint: "not an E.164"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%v", tc.in, tc.trunk), func(t *testing.T) {
			got, err := NormalizePhoneNumber(tc.in, tc.trunk)
			if tc.errHint != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHint) {
					t.Fatalf("got %q, %v; want error with %q", got, err, tc.errHint)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func outbound(ep string) DirectionSpec {
	return DirectionSpec{Direction: headermap.Outbound, SIPEndpoint: &ep}
}

func TestAttachSIPValidation(t *testing.T) { forEachEngine(t, testAttachSIPValidation) }

func testAttachSIPValidation(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	reg := "register"
	ip := "ip"
	tests := []struct {
		name  string
		req   AttachRequest
		field string
		hint  string
	}{
		{"no numbers", AttachRequest{NumbersField: "phone_numbers"}, "phone_numbers", "required"},
		{"101 numbers", AttachRequest{Numbers: make([]string, 101), NumbersField: "phone_numbers", Directions: []DirectionSpec{outbound("sip:h")}}, "phone_numbers", "at most 100"},
		{"bad single number", AttachRequest{Numbers: []string{"1001"}, NumbersField: "phone_number", Directions: []DirectionSpec{outbound("sip:h")}}, "phone_number", "trunk_id"},
		{"no directions", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number"}, "directions", "required"},
		{"unknown direction", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: "sideways"}}}, "directions[0].type", "inbound or outbound"},
		{"twice", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{outbound("sip:h"), outbound("sip:h")}}, "directions[1].type", "twice"},
		{"outbound needs endpoint", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound}}}, "directions[0].sip_endpoint", "required for outbound unless"},
		{"bad endpoint", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{outbound("sip:h;transport=sctp")}}, "directions[0].sip_endpoint", "transport"},
		{"unknown trunk", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", TrunkID: "trk_nope", Directions: []DirectionSpec{outbound("sip:h")}}, "trunk_id", "no trunk"},
		{"register without auth", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, AuthMode: &reg}}}, "directions[0].register_auth", "required when auth_mode is register"},
		{"register short password", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, AuthMode: &reg, RegisterAuth: &RegisterAuthInput{Username: "pbx", Password: "short"}}}}, "directions[0].register_auth.password", "at least 8"},
		{"register_auth in ip mode", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, AuthMode: &ip, RegisterAuth: &RegisterAuthInput{Username: "pbx", Password: "longenough"}}}}, "directions[0].register_auth", "only allowed with auth_mode: register"},
		{"bad auth mode", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, AuthMode: ptr("digest")}}}, "directions[0].auth_mode", "ip or register"},
		{"auth on outbound", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound, AuthMode: &ip}}}, "directions[0].auth_mode", "inbound"},
		{"bad port", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound, SIPEndpoint: ptr("sip:h"), Options: &OptionsPatch{Port: ptr(70000)}}}}, "directions[0].options.port", "1 to 65535"},
		{"bad transport", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound, SIPEndpoint: ptr("sip:h"), Options: &OptionsPatch{Transport: ptr("ws")}}}}, "directions[0].options.transport", "udp, tcp or tls"},
		{"username without password", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound, SIPEndpoint: ptr("sip:h"), Options: &OptionsPatch{SIPUsername: ptr("u")}}}}, "directions[0].options.sip_password", "required when sip_username"},
		{"srtp over udp", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Outbound, SIPEndpoint: ptr("sip:h"), Options: &OptionsPatch{SecureMedia: ptr(true)}}}}, "directions[0].options.secure_media", "needs transport tls"},
		{"bad header rule", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, Headers: &[]headermap.Rule{{Type: "custom", Key: "X-A"}}}}}, "directions[0].headers.headers[0].value", "required"},
		{"headers other direction", AttachRequest{Numbers: []string{"+14150000000"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound, HeadersDirection: "outbound", Headers: &[]headermap.Rule{}}}}, "directions[0].headers.direction", "must be inbound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.AccountID = acct.ID
			_, err := s.AttachSIP(ctx, tc.req)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Reason, tc.hint) {
				t.Fatalf("got %v, want %s: …%s…", err, tc.field, tc.hint)
			}
		})
	}
	var n int
	s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM sip_configurations")
	if n != 0 {
		t.Fatalf("invalid requests stored %d configurations", n)
	}
}

func TestAttachUpdateDetach(t *testing.T) { forEachEngine(t, testAttachUpdateDetach) }

func testAttachUpdateDetach(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	reg := "register"
	res, err := s.AttachSIP(ctx, AttachRequest{
		AccountID: acct.ID, Numbers: []string{"+14150000001", "(415) 000-0002", "bogus", "+14150000001"}, NumbersField: "phone_numbers",
		Directions: []DirectionSpec{
			{Direction: headermap.Outbound, SIPEndpoint: ptr("sip:carrier.example.com"), Options: &OptionsPatch{Transport: ptr("tls"), SecureMedia: ptr(true), SIPUsername: ptr("acme"), SIPPassword: ptr("trunk-secret")},
				Headers: &[]headermap.Rule{{Type: headermap.TypeUUI, Target: "crm", Purpose: "bland", Content: "id"}}},
			{Direction: headermap.Inbound, AuthMode: &reg, RegisterAuth: &RegisterAuthInput{Username: "pbx", Password: "register-secret"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Configured, ",") != "+14150000001,+14150000002" || len(res.Failed) != 2 ||
		!strings.Contains(res.Failed[0].Reason, "phone_numbers[2]") || !strings.Contains(res.Failed[1].Reason, "listed twice") {
		t.Fatalf("result: %+v", res)
	}
	if res.PBXPassword == "" || res.PBXPassword != DeriveRegisterPassword("pbx", "register-secret") || res.PBXPassword == "register-secret" {
		t.Fatalf("pbx password %q", res.PBXPassword)
	}
	// Secrets are sealed at rest.
	var raw string
	s.db.GetContext(ctx, &raw, "SELECT sip_password_sealed || register_password_sealed FROM sip_configurations ORDER BY id LIMIT 1")
	if raw == "" || strings.Contains(raw, "secret") {
		t.Fatalf("passwords not sealed: %q", raw)
	}
	route, err := s.OutboundSIPRoute(ctx, acct.ID, "+14150000001")
	if err != nil {
		t.Fatal(err)
	}
	if !route.HasDestination || route.Destination.Transport != sipdest.TLS || route.Destination.Port != 5061 || route.Destination.Host != "carrier.example.com" ||
		route.Username != "acme" || route.Password != "trunk-secret" || !route.SecureMedia || len(route.Headers) != 1 {
		t.Fatalf("outbound route: %+v", route)
	}
	in, err := s.InboundSIPRoutes(ctx, "14150000002") // as a trunk may write it
	if err != nil || len(in) != 1 || in[0].AuthMode != AuthRegister || in[0].Register.Password != "register-secret" || in[0].PBXPassword != res.PBXPassword {
		t.Fatalf("inbound routes: %+v %v", in, err)
	}

	// Another account cannot take the number's inbound side.
	other, _ := s.CreateAccount(ctx, "")
	res2, err := s.AttachSIP(ctx, AttachRequest{AccountID: other.ID, Numbers: []string{"+14150000001"}, NumbersField: "phone_number", Directions: []DirectionSpec{{Direction: headermap.Inbound}}})
	if err != nil || len(res2.Failed) != 1 || !strings.Contains(res2.Failed[0].Reason, "another account") {
		t.Fatalf("other account: %+v %v", res2, err)
	}

	// Update: partial, keeps the password, switches the transport.
	c, regChanged, err := s.UpdateSIP(ctx, acct.ID, "4150000001", "", DirectionSpec{Direction: headermap.Outbound, Options: &OptionsPatch{Port: ptr(5071)}})
	if err != nil || regChanged || c.Options.Port != 5071 || c.Options.SIPPassword != "trunk-secret" || c.SIPEndpoint != "sip:carrier.example.com" {
		t.Fatalf("update: %+v %v", c, err)
	}
	var ve *ValidationError
	if _, _, err := s.UpdateSIP(ctx, acct.ID, "+14150000001", "", DirectionSpec{Direction: headermap.Outbound, SIPEndpoint: ptr("")}); !errors.As(err, &ve) || ve.Field != "updates.sip_endpoint" {
		t.Fatalf("clearing the outbound endpoint: %v", err)
	}
	if _, _, err := s.UpdateSIP(ctx, acct.ID, "+14150000009", "", DirectionSpec{Direction: headermap.Outbound}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if _, changed, err := s.UpdateSIP(ctx, acct.ID, "+14150000002", "", DirectionSpec{Direction: headermap.Inbound, AuthMode: ptr("ip")}); err != nil || changed {
		t.Fatalf("to ip: %v", err)
	}
	in, _ = s.InboundSIPRoutes(ctx, "+14150000002")
	if in[0].AuthMode != AuthIP || in[0].Register.Password != "" {
		t.Fatalf("ip mode keeps register credentials: %+v", in[0])
	}

	// Detach.
	d, err := s.DetachSIP(ctx, acct.ID, []string{"+14150000001", "+14150000003"}, "phone_numbers", "", []headermap.Direction{headermap.Outbound})
	if err != nil || strings.Join(d.Detached, ",") != "+14150000001" || len(d.Failed) != 1 {
		t.Fatalf("detach: %+v %v", d, err)
	}
	if _, err := s.OutboundSIPRoute(ctx, acct.ID, "+14150000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("route after detach: %v", err)
	}
	cs, _ := s.SIPConfigurations(ctx, acct.ID, "+14150000001")
	if len(cs) != 1 || cs[0].Direction != headermap.Inbound {
		t.Fatalf("detach removed the wrong direction: %+v", cs)
	}
}

func TestTrunksAndLimits(t *testing.T) { forEachEngine(t, testTrunksAndLimits) }

func testTrunksAndLimits(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	newTrunk := func(name string) SIPTrunk {
		t.Helper()
		tr := SIPTrunk{AccountID: acct.ID}
		if _, err := (TrunkPatch{Name: &name, SIPEndpoint: ptr("tls://pbx.example.com:5071"), Options: &OptionsPatch{SIPUsername: ptr("u"), SIPPassword: ptr("p4ssword"), SecureMedia: ptr(true)}}).Apply(&tr); err != nil {
			t.Fatal(err)
		}
		tr, err := s.CreateSIPTrunk(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	var trunks []SIPTrunk
	for i := range 6 {
		trunks = append(trunks, newTrunk(fmt.Sprint("t", i)))
	}
	// A DID bound to a trunk inherits its endpoint and credentials.
	res, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{"1001"}, NumbersField: "phone_number", TrunkID: trunks[0].ID,
		Directions: []DirectionSpec{{Direction: headermap.Outbound}, {Direction: headermap.Inbound}}})
	if err != nil || len(res.Configured) != 1 || res.Configured[0] != "1001" {
		t.Fatalf("attach DID: %+v %v", res, err)
	}
	route, err := s.OutboundSIPRoute(ctx, acct.ID, "1001")
	if err != nil || route.Destination.HostPort() != "pbx.example.com:5071" || route.Destination.Transport != sipdest.TLS || route.Password != "p4ssword" || !route.SecureMedia || route.Trunk == nil {
		t.Fatalf("inherited route: %+v %v", route, err)
	}
	if got, _ := s.SIPTrunk(ctx, acct.ID, trunks[0].ID); got.NumberCount != 1 || got.Options.SIPPassword != "p4ssword" {
		t.Fatalf("trunk: %+v", got)
	}
	// The trunk's endpoint cannot go while outbound numbers inherit it.
	cleared := trunks[0]
	if _, err := (TrunkPatch{SIPEndpoint: ptr("")}).Apply(&cleared); err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := s.UpdateSIPTrunk(ctx, cleared); !errors.As(err, &ve) || ve.Field != "sip_endpoint" || !strings.Contains(ve.Reason, "1 outbound") {
		t.Fatalf("clearing an inherited endpoint: %v", err)
	}
	if err := s.DeleteSIPTrunk(ctx, acct.ID, trunks[0].ID); !errors.Is(err, ErrTrunkInUse) || !errors.Is(err, ErrConflict) {
		t.Fatalf("delete trunk in use: %v", err)
	}

	// Ten configurations per number: five trunks times two directions, then the 11th fails.
	const num = "+14155550100"
	for i := range 5 {
		res, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{num}, NumbersField: "phone_number", TrunkID: trunks[i].ID,
			Directions: []DirectionSpec{{Direction: headermap.Outbound}, {Direction: headermap.Inbound}}})
		if err != nil || len(res.Configured) != 1 {
			t.Fatalf("attach %d: %+v %v", i, res, err)
		}
	}
	// Re-attaching an existing configuration replaces it and does not count.
	res, err = s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{num}, NumbersField: "phone_number", TrunkID: trunks[4].ID, Directions: []DirectionSpec{{Direction: headermap.Inbound}}})
	if err != nil || len(res.Configured) != 1 {
		t.Fatalf("re-attach: %+v %v", res, err)
	}
	res, err = s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{num}, NumbersField: "phone_number", TrunkID: trunks[5].ID, Directions: []DirectionSpec{{Direction: headermap.Inbound}}})
	if err != nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Reason, "at most 10") {
		t.Fatalf("11th configuration: %+v %v", res, err)
	}
	cs, _ := s.SIPConfigurations(ctx, acct.ID, num)
	if len(cs) != 10 {
		t.Fatalf("have %d configurations", len(cs))
	}
	// With several trunk-bound configurations, update needs trunk_id.
	if _, _, err := s.UpdateSIP(ctx, acct.ID, num, "", DirectionSpec{Direction: headermap.Inbound}); !errors.As(err, &ve) || ve.Field != "trunk_id" {
		t.Fatalf("ambiguous update: %v", err)
	}
	if c, _, err := s.UpdateSIP(ctx, acct.ID, num, trunks[2].ID, DirectionSpec{Direction: headermap.Inbound, SIPEndpoint: ptr("tls://pbx2.example.com")}); err != nil || c.TrunkID != trunks[2].ID {
		t.Fatalf("update by trunk: %+v %v", c, err)
	}
	// Detach by trunk.
	if d, err := s.DetachSIP(ctx, acct.ID, []string{num}, "phone_number", trunks[1].ID, []headermap.Direction{headermap.Inbound, headermap.Outbound}); err != nil || len(d.Detached) != 1 {
		t.Fatalf("detach by trunk: %+v %v", d, err)
	}
	if cs, _ := s.SIPConfigurations(ctx, acct.ID, num); len(cs) != 8 {
		t.Fatalf("after detach by trunk: %d", len(cs))
	}

	// Pagination over numbers.
	nums := make([]string, 0, 7)
	for i := range 7 {
		nums = append(nums, fmt.Sprintf("+1415555020%d", i))
	}
	if _, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: nums, NumbersField: "phone_numbers", Directions: []DirectionSpec{{Direction: headermap.Inbound}}}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		p, err := s.SIPNumbers(ctx, acct.ID, "", cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 9 {
			t.Fatalf("total %d", p.Total)
		}
		for _, n := range p.Numbers {
			seen = append(seen, n.PhoneNumber)
			if len(n.Configurations) == 0 {
				t.Fatalf("%s without configurations", n.PhoneNumber)
			}
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 9 || seen[0] != "+14155550100" || seen[8] != "1001" {
		t.Fatalf("pages: %v", seen)
	}
	if p, _ := s.SIPNumbers(ctx, acct.ID, trunks[0].ID, "", 50); p.Total != 2 || len(p.Numbers) != 2 {
		t.Fatalf("trunk filter: %+v", p)
	}
	// Trunk patch: register mode needs credentials.
	tr := trunks[5]
	if _, err := (TrunkPatch{AuthMode: ptr("register")}).Apply(&tr); !errors.As(err, &ve) || ve.Field != "register_auth" {
		t.Fatalf("register without auth: %v", err)
	}
	changed, err := (TrunkPatch{AuthMode: ptr("register"), RegisterAuth: &RegisterAuthInput{Username: "pbx", Password: "12345678"}}).Apply(&tr)
	if err != nil || !changed || tr.PBXPassword() == "" {
		t.Fatalf("register: %v", err)
	}
	if tr, err = s.UpdateSIPTrunk(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SIPTrunk(ctx, acct.ID, tr.ID); got.Register.Password != "12345678" || got.AuthMode != AuthRegister {
		t.Fatalf("trunk register: %+v", got)
	}
	// Numbers on a register-mode trunk are registered to the trunk's endpoint.
	if _, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{"2001"}, NumbersField: "phone_number", TrunkID: tr.ID, Directions: []DirectionSpec{{Direction: headermap.Inbound}}}); err != nil {
		t.Fatal(err)
	}
	regs, err := s.RegistrationSIPRoutes(ctx)
	if err != nil || len(regs) != 1 || regs[0].Configuration.PhoneNumber != "2001" || regs[0].Register.Username != "pbx" ||
		regs[0].PBXPassword != tr.PBXPassword() || regs[0].Destination.HostPort() != "pbx.example.com:5071" {
		t.Fatalf("registration routes: %+v %v", regs, err)
	}
	if _, err := s.DetachSIP(ctx, acct.ID, []string{"2001"}, "phone_number", "", []headermap.Direction{headermap.Inbound}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSIPTrunk(ctx, acct.ID, tr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SIPTrunk(ctx, acct.ID, tr.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted trunk: %v", err)
	}
	if ts, _ := s.SIPTrunks(ctx, acct.ID); len(ts) != 5 {
		t.Fatalf("trunks: %d", len(ts))
	}
}

// NormalizePhoneNumber never panics and is idempotent: what it returns
// normalizes to itself, in both modes.
func FuzzNormalizePhoneNumber(f *testing.F) {
	for _, s := range []string{"+14150000000", "(415) 000-0000", "0044 20 7946 0000", "1001", "+", "00", "support*2", "+1 415 ☎"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, trunk bool) {
		n, err := NormalizePhoneNumber(s, trunk)
		if err != nil {
			return
		}
		again, err := NormalizePhoneNumber(n, trunk)
		if err != nil || again != n {
			t.Fatalf("%q -> %q -> %q, %v", s, n, again, err)
		}
		if strings.HasPrefix(n, "+") && (len(n) < 9 || len(n) > 16) {
			t.Fatalf("%q -> %q: not E.164", s, n)
		}
	})
}
