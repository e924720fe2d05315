package server

import (
	"context"
	"net/http"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/console"
	"github.com/wasmvoice/wasmvoice/events"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// console is the web console, fed by the node's events and signed in
// through the API's sessions.
func (s *Server) console() *console.Console {
	return console.New(console.Config{
		Events: s.events,
		Auth: func(r *http.Request) (string, int, string) {
			p, status, msg := s.api.SessionPrincipal(r)
			return p.AccountID, status, msg
		},
		Node:   s.nodeStatus,
		Logger: s.cfg.Logger,
	})
}

func (s *Server) nodeStatus(ctx context.Context, accountID string) console.Node {
	n := console.Node{Version: s.cfg.Version, Ready: true, LiveCalls: len(s.engine.LiveCalls(accountID))}
	if err := s.checkReady(ctx); err != nil {
		n.Ready, n.Problem = false, err.Error()
	}
	for _, l := range s.sip.Listeners() {
		n.Listeners = append(n.Listeners, "sip "+l.Network+" "+l.Addr)
	}
	return n
}

// feed is the engine's calls.Feed: call changes go out in the shape the
// Voice API shows calls in.
type feed struct{ *events.Hub }

func (f feed) CallChanged(rec store.CallRecord) {
	f.Publish(rec.AccountID, events.KindCall, api.CallStateOf(rec))
}

// refused puts a refused SIP request in its account's debugger feed.
func (s *Server) refused(r sip.Refusal) {
	s.events.Debug(r.AccountID, events.Debug{Kind: events.DebugRefused, Status: r.Status, Reason: r.Reason, Method: r.Method,
		Source: r.Source, RequestURI: r.RequestURI, SIPCallID: r.SIPCallID, ApplicationID: r.ApplicationID})
}
