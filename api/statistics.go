package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// AccountStatistics is the getStatistics answer (the spec's
// accountStatistics).
type AccountStatistics struct {
	CurrentCallQueueSize int `json:"currentCallQueueSize" example:"0" doc:"The account's outbound calls placed and not answered yet (this node dials every call at once, so a call waits only on its callee)."`
	MaxCallQueueSize     int `json:"maxCallQueueSize" example:"1000" doc:"The most calls the account may have at once (--max-calls-per-account); past it createCall answers 429. 0: no cap."`
}

func registerStatistics(s *Server) {
	huma.Register(s.api, huma.Operation{
		OperationID: "getStatistics", Method: http.MethodGet, Path: "/api/v2/accounts/{accountId}/statistics", Summary: "Get account statistics",
		Tags: []string{"Statistics"}, Security: bearerBasic, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *AccountPath) (*struct{ Body AccountStatistics }, error) {
		cur, max := s.cfg.Calls.CallQueue(in.AccountID)
		return &struct{ Body AccountStatistics }{AccountStatistics{CurrentCallQueueSize: cur, MaxCallQueueSize: max}}, nil
	})
}
