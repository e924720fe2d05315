package store

import (
	"context"
	"errors"
	"testing"

	"github.com/wasmvoice/wasmvoice/headermap"
)

// The inbound direction names the voice application that answers calls
// from the trunk; it must exist in the account, is refused outbound, and
// reaches the route the front door reads.
func TestSIPInboundApplication(t *testing.T) { forEachEngine(t, testSIPInboundApplication) }

func testSIPInboundApplication(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	app, err := s.CreateApplication(ctx, Application{AccountID: acct.ID, Name: "answers trunk calls"})
	if err != nil {
		t.Fatal(err)
	}
	attach := func(dir headermap.Direction, appID string) error {
		_, err := s.AttachSIP(ctx, AttachRequest{AccountID: acct.ID, Numbers: []string{"+14150000009"}, NumbersField: "phone_number",
			Directions: []DirectionSpec{{Direction: dir, ApplicationID: &appID, SIPEndpoint: ptr("sip:127.0.0.1:5070")}}})
		return err
	}
	var ve *ValidationError
	if err := attach(headermap.Inbound, "app-missing"); !errors.As(err, &ve) || ve.Field != "directions[0].application_id" {
		t.Fatalf("unknown application: %v", err)
	}
	if err := attach(headermap.Outbound, app.ID); !errors.As(err, &ve) || ve.Field != "directions[0].application_id" {
		t.Fatalf("application on outbound: %v", err)
	}
	if err := attach(headermap.Inbound, app.ID); err != nil {
		t.Fatal(err)
	}
	routes, err := s.InboundSIPRoutes(ctx, "14150000009")
	if err != nil || len(routes) != 1 || routes[0].ApplicationID != app.ID || routes[0].AuthMode != AuthIP {
		t.Fatalf("inbound routes: %+v %v", routes, err)
	}
	// Update clears or changes it, with the same check.
	if _, _, err := s.UpdateSIP(ctx, acct.ID, "+14150000009", "", DirectionSpec{Direction: headermap.Inbound, ApplicationID: ptr("nope")}); !errors.As(err, &ve) || ve.Field != "updates.application_id" {
		t.Fatalf("update to unknown application: %v", err)
	}
	c, _, err := s.UpdateSIP(ctx, acct.ID, "+14150000009", "", DirectionSpec{Direction: headermap.Inbound, ApplicationID: ptr("")})
	if err != nil || c.ApplicationID != "" {
		t.Fatalf("clear application: %+v %v", c, err)
	}
	routes, _ = s.InboundSIPRoutes(ctx, "+14150000009")
	if len(routes) != 1 || routes[0].ApplicationID != "" {
		t.Fatalf("after clearing: %+v", routes)
	}
}
