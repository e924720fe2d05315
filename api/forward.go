package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// CallForwarder reaches the node that carries a live call, when nodes share
// a database and the call is not on this one (cluster.Forwarder).
type CallForwarder interface {
	// Forward serves r from the node carrying callID and reports true, or
	// reports false when this node should serve r itself.
	Forward(w http.ResponseWriter, r *http.Request, callID string) bool
}

// forwardedOperations are the Voice operations that act on, or read the
// live state of, one live call: only the node that carries its media can
// serve them. Lists and finished calls' records and recordings come from
// the shared store on any node.
var forwardedOperations = map[string]bool{
	"getCallState":             true,
	"updateCall":               true,
	"updateCallBxml":           true,
	"updateCallRecordingState": true,
}

// forwardMiddleware runs after authentication: a request for a call live on
// another node goes there (with the caller's Authorization, which the
// owner checks again) before this node reads its body.
func (s *Server) forwardMiddleware(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if s.cfg.Forwarder == nil || op == nil || !forwardedOperations[op.OperationID] {
		next(ctx)
		return
	}
	callID := ctx.Param("callId")
	if _, live := s.cfg.Calls.LiveCall(ctx.Param("accountId"), callID); live {
		next(ctx)
		return
	}
	r, w := humago.Unwrap(ctx)
	if !s.cfg.Forwarder.Forward(w, r, callID) {
		next(ctx)
	}
}
