package store

import (
	"context"
	"testing"

	"github.com/wasmvoice/wasmvoice/headermap"
)

// Migration 0016 takes the numbers that already had an outbound SIP
// configuration as verified (an upgrade with --sip-require-verification
// keeps their calls going), and only those.
func TestMigrationVerifiesExistingOutboundNumbers(t *testing.T) {
	forEachEngine(t, testMigrationVerifiesExistingOutboundNumbers)
}

func testMigrationVerifiesExistingOutboundNumbers(t *testing.T, eng testEngine) {
	ctx := context.Background()
	db := eng.newDB(t)
	s, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ep := "sip:trunk.example.com"
	for _, d := range []DirectionSpec{outbound(ep), {Direction: headermap.Inbound}} {
		num := map[headermap.Direction]string{headermap.Outbound: "+14155550100", headermap.Inbound: "+14155550101"}[d.Direction]
		if res, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{num}, NumbersField: "phone_number", Directions: []DirectionSpec{d}}); err != nil || len(res.Configured) != 1 {
			t.Fatalf("attach %s: %+v %v", num, res, err)
		}
	}
	// Back to the schema before 0016, as a node upgraded from it.
	for _, q := range []string{"DROP TABLE sip_owned_numbers", "DROP TABLE sip_port_numbers", "DROP TABLE sip_ports",
		"DROP TABLE sip_port_documents", "DROP TABLE sip_verified_numbers", "DROP TABLE sip_trunk_settings",
		"DELETE FROM schema_migrations WHERE version = 16"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	if s, err = db.open(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for num, want := range map[string]bool{"+14155550100": true, "+14155550101": false} {
		method, _, ok, err := s.NumberVerified(ctx, acct.ID, num)
		if err != nil || ok != want || (ok && method != VerifiedByExisting) {
			t.Errorf("%s verified: %v %q %v, want %v", num, ok, method, err, want)
		}
	}
	if err := s.SetNumberVerified(ctx, acct.ID, "+14155550101", VerifiedByCall); err != nil {
		t.Fatal(err)
	}
	if method, _, ok, _ := s.NumberVerified(ctx, acct.ID, "+14155550101"); !ok || method != VerifiedByCall {
		t.Errorf("after a verification call: %v %q", ok, method)
	}
}
