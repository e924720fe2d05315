package sip

import (
	"github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/guard"
)

// reportRefusal tells OnRefusal about a refused request of a known
// application or number.
func (s *Server) reportRefusal(req *sip.Request, v verdict) {
	if s.cfg.OnRefusal == nil || (v.challenge && v.reason == reasonNoCredentials) {
		return
	}
	app := v.app
	if app.AccountID == "" {
		app = v.owner
	}
	if app.AccountID == "" && v.route != nil {
		app = v.route.Application
	}
	if app.AccountID == "" {
		return // nobody's: an unknown application or number
	}
	r := Refusal{Status: v.status, Reason: v.reason, Method: guard.Truncate(string(req.Method), 32), Source: req.Source(),
		RequestURI: guard.Truncate(req.Recipient.String(), maxLoggedURI), AccountID: app.AccountID, ApplicationID: app.ID}
	if id := req.CallID(); id != nil {
		r.SIPCallID = guard.Truncate(id.Value(), maxLoggedURI)
	}
	s.cfg.OnRefusal(r)
}
