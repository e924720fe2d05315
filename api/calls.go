package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// Calls is what the Voice API needs from the call engine.
type Calls interface {
	// CreateCall validates and places an outbound call; it returns at once
	// with the call initiated (the answer callback comes later).
	CreateCall(ctx context.Context, accountID string, req CreateCallRequest) (store.CallRecord, error)
	// LiveCall is a call that is up right now.
	LiveCall(accountID, callID string) (store.CallRecord, bool)
	// LiveCallLog is the log and SIP trace so far of a call that is up.
	LiveCallLog(accountID, callID string) ([]store.LogEntry, []store.SIPMessage, bool)
	// LiveCalls are the account's calls up right now.
	LiveCalls(accountID string) []store.CallRecord
	// HangupCall ends a live call (BYE, CANCEL or reject, as fits its state).
	HangupCall(accountID, callID string) error
	// RedirectCall interrupts the call's BXML and runs what t answers to a redirect event.
	RedirectCall(accountID, callID string, t bxml.Target) error
	// ReplaceCallBXML interrupts the call's BXML and runs doc instead.
	ReplaceCallBXML(accountID, callID string, doc *bxml.Document) error
	// SetCallTag sets the tag of a live call's later callbacks ("" clears it).
	SetCallTag(accountID, callID, tag string) error
	// CallQueue is the account's outbound calls waiting on their callee and
	// the most calls the account may have at once (0: no cap).
	CallQueue(accountID string) (current, max int)
}

// ErrCallNotActive is returned by Calls for a call that is not live.
var ErrCallNotActive = errors.New("call is not active")

// ErrCallBusy is returned by Calls for a live call that is already being
// redirected or bridged: 409, as the spec has it.
var ErrCallBusy = errors.New("call is busy with another change")

// ErrCallCapacity is returned by Calls.CreateCall when a concurrent-call cap
// (of the application, of the account) is reached: 429 with Retry-After.
var ErrCallCapacity = errors.New("too many concurrent calls")

// CallState is a call as getCallState and listCalls show it.
type CallState struct {
	ApplicationID   string     `json:"applicationId"`
	AccountID       string     `json:"accountId"`
	CallID          string     `json:"callId"`
	ParentCallID    *string    `json:"parentCallId" nullable:"true"`
	To              string     `json:"to"`
	From            string     `json:"from"`
	Direction       string     `json:"direction" enum:"inbound,outbound"`
	State           string     `json:"state" example:"disconnected" doc:"initiated, answered or disconnected (more may come: tolerate unknown values)."`
	EnqueuedTime    *time.Time `json:"enqueuedTime" nullable:"true"`
	StartTime       time.Time  `json:"startTime"`
	AnswerTime      *time.Time `json:"answerTime" nullable:"true"`
	EndTime         *time.Time `json:"endTime" nullable:"true"`
	DisconnectCause *string    `json:"disconnectCause" nullable:"true" example:"hangup"`
	ErrorMessage    *string    `json:"errorMessage" nullable:"true"`
	ErrorID         *string    `json:"errorId" nullable:"true"`
	LastUpdate      time.Time  `json:"lastUpdate"`
}

// UpdateCallRequest is the updateCall body.
type UpdateCallRequest struct {
	State                  *string `json:"state,omitempty" enum:"active,completed" nullable:"true" default:"active"`
	RedirectURL            *string `json:"redirectUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	RedirectMethod         *string `json:"redirectMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	Username               *string `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password               *string `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	RedirectFallbackURL    *string `json:"redirectFallbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	RedirectFallbackMethod *string `json:"redirectFallbackMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	FallbackUsername       *string `json:"fallbackUsername,omitempty" maxLength:"1024" nullable:"true"`
	FallbackPassword       *string `json:"fallbackPassword,omitempty" maxLength:"1024" nullable:"true"`
	Tag                    *string `json:"tag,omitempty" maxLength:"4096" nullable:"true" doc:"Replaces the tag of the call's later callbacks; an empty string clears it."`
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CallStateOf is a call record as the Voice API shows it (the web
// console's live call events carry the same shape).
func CallStateOf(c store.CallRecord) CallState { return toCallState(c) }

func toCallState(c store.CallRecord) CallState {
	return CallState{
		ApplicationID: c.ApplicationID, AccountID: c.AccountID, CallID: c.ID, ParentCallID: optStr(c.ParentCallID),
		To: c.To, From: c.From, Direction: c.Direction, State: c.State, EnqueuedTime: optTime(c.EnqueuedTime),
		StartTime: c.StartTime, AnswerTime: optTime(c.AnswerTime), EndTime: optTime(c.EndTime),
		DisconnectCause: optStr(c.DisconnectCause), ErrorMessage: optStr(c.ErrorMessage), ErrorID: optStr(c.ErrorID),
		LastUpdate: c.LastUpdate,
	}
}

// CallPath is the {accountId} and {callId} path parameters.
type CallPath struct {
	AccountPath
	CallID string `path:"callId" maxLength:"64" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
}

func registerCalls(s *Server) {
	const base = "/api/v2/accounts/{accountId}/calls"
	tags := []string{"Calls"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	registerCreateCall(s, base, tags, errs)
	huma.Register(s.api, huma.Operation{
		OperationID: "getCallState", Method: http.MethodGet, Path: base + "/{callId}", Summary: "Get call state information",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *CallPath) (*struct{ Body CallState }, error) {
		if rec, ok := s.cfg.Calls.LiveCall(in.AccountID, in.CallID); ok {
			return &struct{ Body CallState }{toCallState(rec)}, nil
		}
		rec, err := s.cfg.Store.Call(ctx, in.AccountID, in.CallID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "call "+in.CallID)
		}
		return &struct{ Body CallState }{toCallState(rec)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "listCalls", Method: http.MethodGet, Path: base, Summary: "Get calls",
		Description: "Calls of the account, oldest first: live calls on the first page (those carried by other nodes sharing the database as they began), then ended ones. A Link header with rel=\"next\" points to the next page.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *struct {
		AccountPath
		To              string    `query:"to" maxLength:"1024" doc:"Filter by the called number or URI."`
		From            string    `query:"from" maxLength:"1024" doc:"Filter by the calling number."`
		MinStartTime    time.Time `query:"minStartTime" doc:"Calls that started at or after this time (ISO 8601)."`
		MaxStartTime    time.Time `query:"maxStartTime" doc:"Calls that started at or before this time (ISO 8601)."`
		DisconnectCause string    `query:"disconnectCause" maxLength:"64"`
		PageSize        int       `query:"pageSize" minimum:"1" maximum:"10000" default:"1000"`
		PageToken       string    `query:"pageToken" maxLength:"512"`
	}) (*struct {
		Link string `header:"Link"`
		Body []CallState
	}, error) {
		f := store.CallFilter{To: in.To, From: in.From, MinStartTime: in.MinStartTime, MaxStartTime: in.MaxStartTime,
			DisconnectCause: in.DisconnectCause, PageSize: in.PageSize, PageToken: in.PageToken}
		page, err := s.cfg.Store.Calls(ctx, in.AccountID, f)
		if errors.Is(err, store.ErrBadPageToken) {
			return nil, huma.Error400BadRequest("invalid pageToken", &huma.ErrorDetail{Location: "query.pageToken", Message: "not a token this server made"})
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := []CallState{}
		if in.PageToken == "" && in.DisconnectCause == "" {
			live := s.cfg.Calls.LiveCalls(in.AccountID)
			// Nodes sharing the database: the calls live on the others, as
			// they began (getCallState has their state now).
			others, err := s.cfg.Store.OtherNodesLiveCalls(ctx, in.AccountID)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			for _, rec := range append(live, others...) {
				if matchesLive(rec, f) {
					out = append(out, toCallState(rec))
				}
			}
		}
		for _, rec := range page.Calls {
			out = append(out, toCallState(rec))
		}
		return &struct {
			Link string `header:"Link"`
			Body []CallState
		}{Link: s.nextLink(in.AccountID, "calls", in.PageSize, page.NextPageToken), Body: out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateCall", Method: http.MethodPost, Path: base + "/{callId}", Summary: "Update a call",
		Description: "tag replaces the call's tag; state: completed hangs the call up (cancels it while an outbound call still rings); redirectUrl interrupts its BXML and runs what the redirect callback answers.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusConflict), MaxBodyBytes: 16 << 10, DefaultStatus: http.StatusOK,
	}, func(ctx context.Context, in *struct {
		CallPath
		Body UpdateCallRequest
	}) (*struct{}, error) {
		b := in.Body
		if b.Tag != nil {
			if err := s.cfg.Calls.SetCallTag(in.AccountID, in.CallID, *b.Tag); err != nil {
				return nil, s.callError(ctx, err)
			}
		}
		if b.State != nil && *b.State == "completed" {
			if err := s.cfg.Calls.HangupCall(in.AccountID, in.CallID); err != nil {
				return nil, s.callError(ctx, err)
			}
			return nil, nil
		}
		if (b.RedirectURL == nil || *b.RedirectURL == "") && b.Tag != nil {
			return nil, nil // a tag alone
		}
		if b.RedirectURL == nil || *b.RedirectURL == "" {
			return nil, huma.Error400BadRequest("redirectUrl is required unless state is completed", &huma.ErrorDetail{Location: "body.redirectUrl", Message: "required"})
		}
		t := redirectTarget(*b.RedirectURL, b.RedirectMethod, b.RedirectFallbackURL, b.RedirectFallbackMethod,
			b.Username, b.Password, b.FallbackUsername, b.FallbackPassword)
		if err := s.cfg.Calls.RedirectCall(in.AccountID, in.CallID, t); err != nil {
			return nil, s.callError(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateCallBxml", Method: http.MethodPut, Path: base + "/{callId}/bxml", Summary: "Update a call's BXML",
		Description: "Interrupts the call's running BXML and runs this document (root element <Bxml>) instead.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusConflict), DefaultStatus: http.StatusNoContent, MaxBodyBytes: 1 << 20,
	}, func(ctx context.Context, in *struct {
		CallPath
		RawBody []byte `contentType:"application/xml"`
	}) (*struct{}, error) {
		doc, err := bxml.Parse(in.RawBody)
		if err != nil {
			return nil, huma.Error400BadRequest("invalid BXML: "+err.Error(), &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		if err := bxml.CheckSupported(doc); err != nil {
			return nil, huma.Error400BadRequest(err.Error(), &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		if err := s.cfg.Calls.ReplaceCallBXML(in.AccountID, in.CallID, doc); err != nil {
			return nil, s.callError(ctx, err)
		}
		return nil, nil
	})
	registerRecordings(s, base, errs)
}

// nextLink is the Link header of a list's next page ("" on the last).
func (s *Server) nextLink(accountID, collection string, pageSize int, token string) string {
	if token == "" {
		return ""
	}
	return fmt.Sprintf(`<%s/api/v2/accounts/%s/%s?pageSize=%d&pageToken=%s>; rel="next"`, s.cfg.PublicURL, accountID, collection, pageSize, token)
}

// redirectTarget is where an update's redirect callback goes.
func redirectTarget(u string, method, fbURL, fbMethod, user, pass, fbUser, fbPass *string) bxml.Target {
	return bxml.Target{URL: u, Method: orS(method, "POST"), FallbackURL: orS(fbURL, ""), FallbackMethod: orS(fbMethod, "POST"),
		Username: orS(user, ""), Password: orS(pass, ""), FallbackUsername: orS(fbUser, ""), FallbackPassword: orS(fbPass, "")}
}

func matchesLive(c store.CallRecord, f store.CallFilter) bool {
	return (f.To == "" || c.To == f.To) && (f.From == "" || c.From == f.From) &&
		(f.MinStartTime.IsZero() || !c.StartTime.Before(f.MinStartTime)) &&
		(f.MaxStartTime.IsZero() || !c.StartTime.After(f.MaxStartTime))
}

func (s *Server) callURL(c store.CallRecord) string {
	return s.cfg.PublicURL + "/api/v2/accounts/" + c.AccountID + "/calls/" + c.ID
}

func (s *Server) callError(ctx context.Context, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return validationProblem(err)
	case errors.Is(err, ErrCallNotActive), errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, ErrCallBusy):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, ErrCallCapacity):
		return &retryAfter{huma.NewError(http.StatusTooManyRequests, err.Error()), 5 * time.Second}
	}
	return s.internal(ctx, err)
}

func orS(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

func ptrOr(p *string, def string) *string {
	v := orS(p, def)
	return &v
}

func orF(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
