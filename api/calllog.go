package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// CallLog is a call's log and SIP trace: what a person reads to
// learn why a call went the way it did.
type CallLog struct {
	CallID   string             `json:"callId"`
	Entries  []store.LogEntry   `json:"entries" doc:"Engine, callback and module lines, oldest first."`
	SIPTrace []store.SIPMessage `json:"sipTrace" doc:"Every SIP message in and out of the call, oldest first."`
	Live     bool               `json:"live,omitempty" doc:"true while the call is up: entries and trace are those so far."`
}

// nonNil answers an empty list as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func registerCallLog(s *Server) {
	huma.Register(s.api, huma.Operation{
		OperationID: "getCallLog", Method: http.MethodGet, Path: "/api/v2/accounts/{accountId}/calls/{callId}/log",
		Summary:     "Get a call's log and SIP trace",
		Description: "While the call is up, its log and trace so far (fetch again for more); once it has ended, all of them. Not part of Bandwidth's Voice API.",
		Tags:        []string{"Calls"}, Security: bearerBasic,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *CallPath) (*struct{ Body CallLog }, error) {
		if logs, trace, ok := s.cfg.Calls.LiveCallLog(in.AccountID, in.CallID); ok {
			return &struct{ Body CallLog }{CallLog{CallID: in.CallID, Entries: nonNil(logs), SIPTrace: nonNil(trace), Live: true}}, nil
		}
		if _, err := s.cfg.Store.Call(ctx, in.AccountID, in.CallID); err != nil {
			return nil, s.lookupError(ctx, err, "ended call "+in.CallID)
		}
		logs, err := s.cfg.Store.CallLog(ctx, in.CallID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		trace, err := s.cfg.Store.CallTrace(ctx, in.CallID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &struct{ Body CallLog }{CallLog{CallID: in.CallID, Entries: nonNil(logs), SIPTrace: nonNil(trace)}}, nil
	})
}
