package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSIPCalls saves calls with and without a number's SIP route and lists
// them by number, trunk and direction, newest first, a page at a time.
func TestSIPCalls(t *testing.T) { forEachEngine(t, testSIPCalls) }

func testSIPCalls(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _ := s.CreateAccount(ctx, "")
	other, _ := s.CreateAccount(ctx, "")
	base := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	calls := []struct {
		id, acct, dir string
		route         CallSIPRoute
	}{
		{"c-1", acct.ID, "inbound", CallSIPRoute{PhoneNumber: "+15550001", ConfigurationID: "cfg-1", TrunkID: "trk-1", Status: 200, Reason: "OK"}},
		{"c-2", acct.ID, "outbound", CallSIPRoute{PhoneNumber: "+15550001", ConfigurationID: "cfg-2", TrunkID: "trk-1", Status: 486, Reason: "Busy Here"}},
		{"c-3", acct.ID, "outbound", CallSIPRoute{PhoneNumber: "+15550002", ConfigurationID: "cfg-3", Status: 200, Reason: "OK"}},
		{"c-4", acct.ID, "inbound", CallSIPRoute{}}, // an application's SIP URI: not a SIP call of a number
		{"c-5", other.ID, "inbound", CallSIPRoute{PhoneNumber: "+15550001", ConfigurationID: "cfg-9", TrunkID: "trk-1", Status: 200, Reason: "OK"}},
	}
	for i, c := range calls {
		rec := CallRecord{ID: c.id, AccountID: c.acct, ApplicationID: "app", Direction: c.dir, From: "+1555", To: "+1666",
			State: "disconnected", StartTime: base.Add(time.Duration(i) * time.Second), EndTime: base.Add(time.Minute),
			DisconnectCause: "hangup", SIPRoute: c.route}
		if err := s.SaveCall(ctx, rec, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Call(ctx, acct.ID, "c-2")
	if err != nil || got.SIPRoute != calls[1].route {
		t.Fatalf("call c-2: %+v %v", got.SIPRoute, err)
	}
	ids := func(f SIPCallFilter) []string {
		t.Helper()
		var out []string
		for {
			p, err := s.SIPCalls(ctx, acct.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Calls {
				out = append(out, c.ID)
			}
			if p.NextCursor == "" {
				return out
			}
			f.Cursor = p.NextCursor
		}
	}
	for _, tc := range []struct {
		name string
		f    SIPCallFilter
		want []string
	}{
		{"all", SIPCallFilter{}, []string{"c-3", "c-2", "c-1"}},
		{"paged", SIPCallFilter{Limit: 1}, []string{"c-3", "c-2", "c-1"}},
		{"number", SIPCallFilter{PhoneNumber: "+15550001", Limit: 1}, []string{"c-2", "c-1"}},
		{"trunk", SIPCallFilter{TrunkID: "trk-1"}, []string{"c-2", "c-1"}},
		{"trunk inbound", SIPCallFilter{TrunkID: "trk-1", Direction: "inbound"}, []string{"c-1"}},
		{"none", SIPCallFilter{PhoneNumber: "+19999"}, nil},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := s.SIPCalls(ctx, acct.ID, SIPCallFilter{Cursor: "%%"}); !errors.Is(err, ErrBadPageToken) {
		t.Fatalf("bad cursor: %v", err)
	}
}
