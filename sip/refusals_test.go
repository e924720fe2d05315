package sip

import (
	"context"
	"testing"
	"time"
)

// TestReportRefusal: the debugger hears of refusals of known applications,
// not of the challenge every digest call starts with, nor of requests to
// applications that do not exist (they belong to no account).
func TestReportRefusal(t *testing.T) {
	s := newCheckServer(t)
	var got []Refusal
	s.cfg.OnRefusal = func(r Refusal) { got = append(got, r) }
	now := time.Now()
	wrong := testCredentials(s, "INVITE", "sip:"+appPassword+"@"+testDomain, appPassword, "wrong", "MD5", 1)
	for _, o := range []reqOpts{
		{app: appPassword, maxForwards: 70},                            // the opening 407: not reported
		{app: "unknown", maxForwards: 70, source: "198.51.100.1:5060"}, // nobody's
		{app: appPassword, maxForwards: 70, auth: wrong},               // reported
		{app: appDisabled, maxForwards: 70},                            // reported
	} {
		req := parseInvite(t, o)
		s.reportRefusal(req, s.checkInvite(context.Background(), req, now))
	}
	if len(got) != 2 {
		t.Fatalf("reported %+v", got)
	}
	if r := got[0]; r.Reason != reasonBadCredentials || r.ApplicationID != appPassword || r.AccountID == "" || r.Method != "INVITE" || r.Source == "" || r.SIPCallID == "" {
		t.Errorf("bad credentials: %+v", r)
	}
	if r := got[1]; r.Reason != reasonInboundDisabled || r.ApplicationID != appDisabled {
		t.Errorf("disabled: %+v", r)
	}
}
