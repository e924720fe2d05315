package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPTestCalls places SIP test calls and reads their outcome
// (trunkops.TestCalls behind the server's adapter).
type SIPTestCalls interface {
	// StartTestCall places a test call to the account's number;
	// ErrTestCallRunning while its last one runs, a *store.ValidationError
	// on phone_number when the number has no outbound route.
	StartTestCall(ctx context.Context, accountID, number string) (callID string, err error)
	// TestCallStatus reads a test call of the account (callID "": its
	// last); store.ErrNotFound when there is none.
	TestCallStatus(ctx context.Context, accountID, callID string) (SIPTestCallStatus, error)
}

// TestCallRateLimitError refuses a test call past the account's limit:
// 429 with Retry-After.
type TestCallRateLimitError struct {
	Message    string
	RetryAfter time.Duration
}

func (e *TestCallRateLimitError) Error() string { return e.Message }

// ErrTestCallRunning refuses a test call while the account's last one runs (409).
var ErrTestCallRunning = errors.New("a test call is already running for this account: poll GET /v1/sip/test-call/status until it completes")

// SIPTestCallRequest is POST /v1/sip/test-call's body.
type SIPTestCallRequest struct {
	PhoneNumber string `json:"phone_number" example:"+14150000000" doc:"E.164 number with an outbound SIP configuration (or bound to a trunk with an endpoint)."`
}

// SIPTestCallStarted is POST /v1/sip/test-call's data.
type SIPTestCallStarted struct {
	CallID  string `json:"call_id" doc:"The test call's callId (also in the Voice API's call routes and call logs)." example:"c-6f1c2d3e-4f5a-4b6c-8d9e-0f1a2b3c4d5e"`
	Message string `json:"message" example:"Test call initiated"`
}

// SIPTestCallStatus is GET /v1/sip/test-call/status's data.
type SIPTestCallStatus struct {
	CallID          string             `json:"call_id"`
	PhoneNumber     string             `json:"phone_number" example:"+14150000000"`
	Status          string             `json:"status" enum:"running,completed" doc:"running until the call ended and its record and SIP trace are saved."`
	Result          string             `json:"result" enum:"pending,success,failure" doc:"success: answered and ended normally; failure: see sip_code and reason; pending while running."`
	SIPCode         *int               `json:"sip_code" doc:"The final error response to the INVITE on failure (486, 403, 503, ...); null on success, while running, or when none came (timeout)." example:"486"`
	Reason          *string            `json:"reason" doc:"Why it failed: the response's reason phrase, or the call's disconnect cause and error (timeout: no final response within 30 s)." example:"Busy Here"`
	DurationSeconds float64            `json:"duration_seconds" doc:"From the INVITE to the end of the call (so far, while running)." example:"4.21"`
	StartedAt       string             `json:"started_at" format:"date-time"`
	Timeline        []SIPTimelineEvent `json:"timeline" doc:"The call's SIP trace, one entry per message in order: INVITE, challenges and the re-INVITE, 100, 180/183, 200, ACK, BYE and its 200, or the final error response. Empty while running."`
}

// SIPTimelineEvent is one SIP message of a test call.
type SIPTimelineEvent struct {
	Event      string  `json:"event" doc:"The request method, or the response's status code." example:"INVITE"`
	At         string  `json:"at" format:"date-time"`
	OffsetMS   float64 `json:"offset_ms" doc:"Milliseconds since the first message." example:"12.5"`
	Direction  string  `json:"direction" enum:"sent,received" doc:"sent by this server or received from the trunk."`
	Method     string  `json:"method" doc:"The request's method, or the method the response answers (its CSeq)." example:"INVITE"`
	StatusCode *int    `json:"status_code" doc:"A response's status code; null for a request." example:"180"`
	Reason     *string `json:"reason" doc:"A response's reason phrase; null for a request." example:"Ringing"`
	Detail     string  `json:"detail" doc:"The message's start line." example:"SIP/2.0 180 Ringing"`
}

// TimelineEntry builds one timeline entry.
func TimelineEntry(at time.Time, offset time.Duration, sent bool, method string, status int, reason, startLine string) SIPTimelineEvent {
	e := SIPTimelineEvent{At: at.UTC().Format(time.RFC3339Nano), OffsetMS: float64(offset.Microseconds()) / 1000,
		Direction: "received", Method: method, Event: method, Detail: startLine}
	if sent {
		e.Direction = "sent"
	}
	if status != 0 {
		e.Event = strconv.Itoa(status)
		e.StatusCode, e.Reason = &status, &reason
	}
	return e
}

func registerSIPTestCall(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("sipTestCall", http.MethodPost, "/v1/sip/test-call", "Send SIP test call",
		"Place a live test call to the number through its outbound SIP configuration, exactly as a call to it goes (digest auth, transport and TLS, SRTP, header mappings): it rings for up to 30 s and, once answered, hangs up after 3 s of silence. One test call per account at a time (409 while one runs), at most 10 in 15 minutes (429 with Retry-After); poll GET /v1/sip/test-call/status for its result and SIP timeline.",
		http.StatusNotFound, http.StatusConflict, http.StatusTooManyRequests),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPTestCallStarted], error) {
			var body SIPTestCallRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			if body.PhoneNumber == "" {
				return nil, fieldProblem("phone_number", "", "required")
			}
			acct := principal(ctx).AccountID
			num, err := s.cfg.Store.ResolveSIPNumber(ctx, acct, body.PhoneNumber)
			var ve *store.ValidationError
			if errors.As(err, &ve) {
				return nil, fieldProblem("phone_number", body.PhoneNumber, ve.Reason)
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			if s.cfg.TestCalls == nil {
				return nil, huma.Error503ServiceUnavailable("test calls are not available on this node")
			}
			id, err := s.cfg.TestCalls.StartTestCall(ctx, acct, num)
			var limited *TestCallRateLimitError
			switch {
			case errors.As(err, &limited):
				return nil, &retryAfter{huma.NewError(http.StatusTooManyRequests, limited.Message), limited.RetryAfter}
			case errors.As(err, &ve):
				return nil, fieldProblem("phone_number", body.PhoneNumber, ve.Reason)
			case errors.Is(err, ErrTestCallRunning):
				return nil, huma.Error409Conflict(err.Error())
			case errors.Is(err, ErrCallCapacity):
				return nil, &retryAfter{huma.NewError(http.StatusTooManyRequests, err.Error()), 5 * time.Second}
			case err != nil:
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPTestCallStarted]{Body: sipEnvelope(SIPTestCallStarted{CallID: id, Message: "Test call initiated"})}, nil
		})
	s.bodySchema("/v1/sip/test-call", http.MethodPost, reflectType[SIPTestCallRequest](), true)

	huma.Register(s.api, op("getSipTestCallStatus", http.MethodGet, "/v1/sip/test-call/status", "Get SIP test call status",
		"The status, result, duration and SIP timeline of the account's last test call (or of call_id): the timeline is the call's SIP trace (as in its call log), one entry per message.",
		http.StatusNotFound),
		func(ctx context.Context, in *struct {
			CallID string `query:"call_id" doc:"A test call's call_id; default the account's last test call."`
		}) (*sipOut[SIPTestCallStatus], error) {
			if s.cfg.TestCalls == nil {
				return nil, huma.Error503ServiceUnavailable("test calls are not available on this node")
			}
			v, err := s.cfg.TestCalls.TestCallStatus(ctx, principal(ctx).AccountID, in.CallID)
			if errors.Is(err, store.ErrNotFound) {
				if in.CallID != "" {
					return nil, huma.Error404NotFound("no test call " + in.CallID + " in this account")
				}
				return nil, huma.Error404NotFound("this account has placed no test call on this node: POST /v1/sip/test-call first")
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPTestCallStatus]{Body: sipEnvelope(v)}, nil
		})
}
