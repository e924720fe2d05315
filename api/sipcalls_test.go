package api

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// TestSIPCallsAPI lists saved calls by number, trunk and direction, a page
// at a time, with each call's fields and links; bad parameters are 400s
// naming the parameter.
func TestSIPCallsAPI(t *testing.T) {
	e := newEnv(t)
	e.enableSIP()
	acct := e.creds.AccountID
	base := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	save := func(id, dir string, i int, answered bool, cause string, route store.CallSIPRoute) {
		t.Helper()
		c := store.CallRecord{ID: id, AccountID: acct, ApplicationID: "app", Direction: dir, From: "+15105551234", To: route.PhoneNumber,
			State: "disconnected", SIPCallID: id + "@sip", StartTime: base.Add(time.Duration(i) * time.Minute),
			EndTime: base.Add(time.Duration(i)*time.Minute + 30*time.Second), DisconnectCause: cause, SIPRoute: route}
		if answered {
			c.AnswerTime = c.StartTime.Add(5 * time.Second)
		}
		if err := e.st.SaveCall(context.Background(), c, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	save("c-1", "inbound", 1, true, "hangup", store.CallSIPRoute{PhoneNumber: "+14150000000", ConfigurationID: "cfg-in", TrunkID: "trk-1", Status: 200, Reason: "OK"})
	save("c-2", "outbound", 2, false, "busy", store.CallSIPRoute{PhoneNumber: "+14150000000", ConfigurationID: "cfg-out", TrunkID: "trk-1", Status: 486, Reason: "Busy Here"})
	save("c-3", "outbound", 3, false, "timeout", store.CallSIPRoute{PhoneNumber: "+14150000001", ConfigurationID: "cfg-x", Status: 487, Reason: "Request Terminated"})
	save("c-4", "inbound", 4, true, "hangup", store.CallSIPRoute{}) // an application's SIP URI

	list := func(q string) SIPEnvelope[SIPCallList] {
		t.Helper()
		var out SIPEnvelope[SIPCallList]
		if c := e.call("GET", "/v1/sip/calls?"+q, nil, &out); c != 200 {
			t.Fatalf("%s: %d", q, c)
		}
		return out
	}
	ids := func(l SIPEnvelope[SIPCallList]) (out []string) {
		for _, c := range l.Data.Calls {
			out = append(out, c.CallID)
		}
		return out
	}
	if got := ids(list("")); len(got) != 3 || got[0] != "c-3" || got[2] != "c-1" {
		t.Fatalf("all: %v", got)
	}
	byNumber := list("phone_number=" + url.QueryEscape("(415) 000-0000"))
	if got := ids(byNumber); len(got) != 2 || got[0] != "c-2" || got[1] != "c-1" {
		t.Fatalf("by number: %v", got)
	}
	in, busy := byNumber.Data.Calls[1], byNumber.Data.Calls[0]
	if in.Direction != "inbound" || in.Status != "completed" || in.SIPResponseCode != 200 || in.SIPCode != 200 || in.SIPResponseReason != "OK" ||
		in.DurationSeconds != 25 || in.TrunkID == nil || *in.TrunkID != "trk-1" || in.PhoneNumber != "+14150000000" ||
		in.AnsweredAt == nil || in.EndedAt == nil || in.StartedAt != "2026-11-30T10:01:00Z" || in.SIPCallID != "c-1@sip" ||
		in.CallURL != "/api/v2/accounts/"+acct+"/calls/c-1" || in.LogURL != in.CallURL+"/log" || in.From != "+15105551234" {
		t.Fatalf("inbound call: %+v", in)
	}
	if busy.Status != "busy" || busy.SIPResponseCode != 486 || busy.DurationSeconds != 0 || busy.AnsweredAt != nil {
		t.Fatalf("busy call: %+v", busy)
	}
	if got := ids(list("trunk_id=trk-1&direction=outbound")); len(got) != 1 || got[0] != "c-2" {
		t.Fatalf("by trunk, outbound: %v", got)
	}
	if l := list("trunk_id=nope"); l.Data.Calls == nil || len(l.Data.Calls) != 0 || l.Data.NextCursor != nil {
		t.Fatalf("no calls: %+v", l.Data)
	}
	if c := list("phone_number=%2B14150000001").Data.Calls[0]; c.Status != "no-answer" || c.TrunkID != nil {
		t.Fatalf("unanswered call without a trunk: %+v", c)
	}
	// Paging walks every call once.
	var seen []string
	q := "limit=1"
	for {
		l := list(q)
		seen = append(seen, ids(l)...)
		if l.Data.NextCursor == nil {
			break
		}
		q = "limit=1&cursor=" + url.QueryEscape(*l.Data.NextCursor)
	}
	if len(seen) != 3 || seen[0] != "c-3" || seen[1] != "c-2" || seen[2] != "c-1" {
		t.Fatalf("paged: %v", seen)
	}
	// Bland's before=<call_id> pages the same way.
	if got := ids(list("limit=1&before=c-2")); len(got) != 1 || got[0] != "c-1" {
		t.Fatalf("before c-2: %v", got)
	}
	for q, field := range map[string]string{
		"before=c-9": "before", "before=c-2&cursor=x": "before",
		"limit=0&cursor=x": "cursor", "limit=101": "limit", "limit=-1": "limit", "direction=sideways": "direction",
		"phone_number=%21%40": "phone_number", "cursor=%25%25": "cursor",
	} {
		var p problem
		if c := e.call("GET", "/v1/sip/calls?"+q, nil, &p); c != 400 || !p.mentions("query."+field) {
			t.Errorf("%s: %d %+v, want 400 naming %s", q, c, p, field)
		}
	}
}
