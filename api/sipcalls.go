package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// SIPCallView is one call of GET /v1/sip/calls.
type SIPCallView struct {
	CallID      string  `json:"call_id" example:"c-3ad0c7a4-5f2b-4f4e-9d0e-6f1f3b0e8a11" doc:"The call's ID in the calls API (call_url, log_url)."`
	SIPCallID   string  `json:"sip_call_id" doc:"The SIP Call-ID of the call's INVITE; empty when none was sent or received."`
	CallURL     string  `json:"call_url" doc:"The call's state: GET /api/v2/accounts/{accountId}/calls/{callId}."`
	LogURL      string  `json:"log_url" doc:"The call's log and SIP trace: GET /api/v2/accounts/{accountId}/calls/{callId}/log."`
	PhoneNumber string  `json:"phone_number" example:"+14150000000" doc:"The number whose SIP configuration routed the call."`
	TrunkID     *string `json:"trunk_id" nullable:"true" doc:"The trunk the number is attached to; null when none."`
	Direction   string  `json:"direction" enum:"inbound,outbound"`
	From        string  `json:"from" example:"+15105551234"`
	To          string  `json:"to" example:"+14150000000"`
	Status      string  `json:"status" enum:"completed,busy,no-answer,canceled,rejected,failed" doc:"completed: answered (whoever hung up); the others: not answered, by the reason."`
	// SIPCode is Bland's name for the same code.
	SIPResponseCode   int     `json:"sip_response_code" example:"200" doc:"Final response of the INVITE (for inbound calls, what this server answered); 0 when none was sent or received."`
	SIPCode           int     `json:"sip_code" example:"200" doc:"Same as sip_response_code (Bland's name)."`
	SIPResponseReason string  `json:"sip_response_reason" example:"OK"`
	DurationSeconds   float64 `json:"duration_seconds" example:"45.2" doc:"From answer to end; 0 when not answered."`
	StartedAt         string  `json:"started_at" format:"date-time"`
	AnsweredAt        *string `json:"answered_at" format:"date-time" nullable:"true" doc:"null when not answered."`
	EndedAt           *string `json:"ended_at" format:"date-time" nullable:"true"`
	DisconnectCause   string  `json:"disconnect_cause" example:"hangup" doc:"The calls API's disconnect cause."`
}

// SIPCallList is GET /v1/sip/calls's data.
type SIPCallList struct {
	Calls      []SIPCallView `json:"calls"`
	NextCursor *string       `json:"next_cursor" nullable:"true" doc:"Pass as cursor for the next page; null on the last page."`
}

func registerSIPCalls(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("listSipCalls", http.MethodGet, "/v1/sip/calls", "List SIP call logs",
		"Ended calls that went through the account's phone numbers' SIP configurations (inbound from a trunk to an attached number, outbound through a number's outbound route), newest first, limit per page; pass next_cursor as cursor for the next page. Filter by phone_number, trunk_id and direction. Each call links to its state and to its log with the SIP trace."),
		func(ctx context.Context, in *struct {
			PhoneNumber string `query:"phone_number" example:"+14150000000" doc:"Only calls of this number."`
			TrunkID     string `query:"trunk_id" doc:"Only calls through this trunk."`
			Direction   string `query:"direction" doc:"inbound or outbound; both when absent."`
			Limit       int    `query:"limit" example:"50" doc:"1 to 100; default 50."`
			Cursor      string `query:"cursor" doc:"next_cursor of the previous page."`
			Before      string `query:"before" doc:"Bland's cursor: the call_id of the last call of the previous page (the calls that started before it). Not with cursor."`
		}) (*sipOut[SIPCallList], error) {
			acct := principal(ctx).AccountID
			f := store.SIPCallFilter{TrunkID: in.TrunkID, Limit: in.Limit, Cursor: in.Cursor}
			if in.Before != "" {
				if in.Cursor != "" {
					return nil, queryProblem("before", in.Before, "send cursor or before, not both")
				}
				last, err := s.cfg.Store.Call(ctx, acct, in.Before)
				if errors.Is(err, store.ErrNotFound) {
					return nil, queryProblem("before", in.Before, "no ended call of the account has this call_id")
				}
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				f.Cursor = store.SIPCallCursor(last)
			}
			if in.PhoneNumber != "" {
				var err error
				if _, f.PhoneNumber, err = s.queryNumber(ctx, in.PhoneNumber); err != nil {
					return nil, err
				}
			}
			switch in.Direction {
			case "", "inbound", "outbound":
				f.Direction = in.Direction
			default:
				return nil, queryProblem("direction", in.Direction, `must be "inbound" or "outbound"`)
			}
			var err error
			if f.Limit, err = pageLimit(in.Limit); err != nil {
				return nil, err
			}
			page, err := s.cfg.Store.SIPCalls(ctx, acct, f)
			if errors.Is(err, store.ErrBadPageToken) {
				return nil, queryProblem("cursor", in.Cursor, "not a cursor this server made")
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out := SIPCallList{Calls: make([]SIPCallView, 0, len(page.Calls))}
			if page.NextCursor != "" {
				out.NextCursor = &page.NextCursor
			}
			for _, c := range page.Calls {
				out.Calls = append(out.Calls, sipCallView(c))
			}
			return &sipOut[SIPCallList]{Body: sipEnvelope(out)}, nil
		})
}

// pageLimit is a /v1/sip list's limit query parameter: 1 to 100, 50 when
// absent.
func pageLimit(limit int) (int, error) {
	if limit == 0 {
		return 50, nil
	}
	if limit < 1 || limit > 100 {
		return 0, queryProblem("limit", limit, "must be from 1 to 100")
	}
	return limit, nil
}

// sipCallView is a call record as GET /v1/sip/calls shows it.
func sipCallView(c store.CallRecord) SIPCallView {
	callURL := "/api/v2/accounts/" + url.PathEscape(c.AccountID) + "/calls/" + url.PathEscape(c.ID)
	v := SIPCallView{
		CallID: c.ID, SIPCallID: c.SIPCallID, CallURL: callURL, LogURL: callURL + "/log",
		PhoneNumber: c.SIPRoute.PhoneNumber, Direction: c.Direction, From: c.From, To: c.To,
		Status: sipCallStatus(c), SIPResponseCode: c.SIPRoute.Status, SIPCode: c.SIPRoute.Status, SIPResponseReason: c.SIPRoute.Reason,
		StartedAt: c.StartTime.UTC().Format(time.RFC3339Nano), DisconnectCause: c.DisconnectCause,
	}
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return &s
	}
	v.AnsweredAt, v.EndedAt = ts(c.AnswerTime), ts(c.EndTime)
	if c.SIPRoute.TrunkID != "" {
		v.TrunkID = &c.SIPRoute.TrunkID
	}
	if !c.AnswerTime.IsZero() && c.EndTime.After(c.AnswerTime) {
		v.DurationSeconds = c.EndTime.Sub(c.AnswerTime).Round(time.Millisecond).Seconds()
	}
	return v
}

// sipCallStatus names how a call ended: completed once answered, else why
// it was not.
func sipCallStatus(c store.CallRecord) string {
	if !c.AnswerTime.IsZero() {
		return "completed"
	}
	switch c.DisconnectCause {
	case bxml.CauseBusy:
		return "busy"
	case bxml.CauseTimeout:
		return "no-answer"
	case bxml.CauseCancel:
		return "canceled"
	case bxml.CauseRejected:
		return "rejected"
	}
	return "failed"
}
