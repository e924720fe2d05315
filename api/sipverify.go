package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPVerification verifies numbers by calling them (trunkops.Verifier
// behind the server's adapter).
type SIPVerification interface {
	// StartVerification calls the number; ErrVerificationRunning while its
	// last verification call runs, *TestCallRateLimitError past the limit, a
	// *store.ValidationError on phone_number when it has no outbound route.
	StartVerification(ctx context.Context, accountID, number string) (SIPVerificationView, error)
	VerificationStatus(ctx context.Context, accountID, number string) (SIPVerificationView, error)
}

// ErrVerificationRunning refuses a verification while the number's last
// verification call runs (409).
var ErrVerificationRunning = errors.New("a verification call to this number is running: read its outcome in GET /v1/sip (verification)")

// SIPVerifyRequest is PUT /v1/sip/verify's body.
type SIPVerifyRequest struct {
	PhoneNumber string `json:"phone_number" example:"+14150000000" doc:"E.164 number with an outbound SIP configuration."`
}

// SIPVerificationView is a number's verification state.
type SIPVerificationView struct {
	PhoneNumber string  `json:"phone_number" example:"+14150000000"`
	Status      string  `json:"status" enum:"unverified,calling,verified,failed" doc:"calling while the verification call runs; failed: the last call's code was wrong, not entered, or the call was not answered (see reason)."`
	Method      *string `json:"method" enum:"call,port,existing" doc:"How the number was verified: a verification call, a completed port, or it had an outbound configuration when verification arrived."`
	VerifiedAt  *string `json:"verified_at" format:"date-time"`
	CallID      *string `json:"call_id" doc:"The last verification call (its record and SIP trace are in the Voice API, tag sip-verification)." example:"c-6f1c2d3e-4f5a-4b6c-8d9e-0f1a2b3c4d5e"`
	Reason      *string `json:"reason" doc:"Why the last verification failed." example:"the callee entered a wrong code"`
	StartedAt   *string `json:"started_at" format:"date-time" doc:"When the last verification call was placed."`
	Required    bool    `json:"verification_required" doc:"Whether this node refuses calls to phone numbers from unverified numbers (--sip-require-verification, on by default)."`
}

// VerificationView builds the view.
func VerificationView(number, status, method string, verifiedAt time.Time, callID, reason string, startedAt time.Time, required bool) SIPVerificationView {
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return &s
	}
	return SIPVerificationView{PhoneNumber: number, Status: status, Method: optStr(method), VerifiedAt: ts(verifiedAt),
		CallID: optStr(callID), Reason: optStr(reason), StartedAt: ts(startedAt), Required: required}
}

func registerSIPVerify(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("verifySip", http.MethodPut, "/v1/sip/verify", "Verify a number by calling it",
		"Places a real call to the number through its outbound SIP configuration that speaks a random 6-digit one-time code (twice) and gathers it by DTMF: the number is verified when the callee keys it in. The answer comes at once with status calling; GET /v1/sip shows the outcome (verification). One call per number at a time (409), at most 5 per number per hour (429 with Retry-After). Unless the node runs with --sip-require-verification=false, a call out through a trunk (createCall to a phone number, a BXML Transfer to a PhoneNumber or Forward) refuses a caller ID that is not verified (an inbound caller passed along is not checked) (numbers ported in, and those with an outbound configuration before the upgrade, count as verified).",
		http.StatusNotFound, http.StatusConflict, http.StatusTooManyRequests),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPVerificationView], error) {
			if s.cfg.Verification == nil {
				return nil, huma.Error503ServiceUnavailable("verification is not available on this node")
			}
			var body SIPVerifyRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			acct, num, err := s.bodyNumber(ctx, body.PhoneNumber)
			if err != nil {
				return nil, err
			}
			v, err := s.cfg.Verification.StartVerification(ctx, acct, num)
			var limited *TestCallRateLimitError
			var ve *store.ValidationError
			switch {
			case errors.As(err, &limited):
				return nil, &retryAfter{huma.NewError(http.StatusTooManyRequests, limited.Message), limited.RetryAfter}
			case errors.As(err, &ve):
				return nil, fieldProblem("phone_number", body.PhoneNumber, ve.Reason)
			case errors.Is(err, ErrVerificationRunning):
				return nil, huma.Error409Conflict(err.Error())
			case errors.Is(err, ErrCallCapacity):
				return nil, &retryAfter{huma.NewError(http.StatusTooManyRequests, err.Error()), 5 * time.Second}
			case err != nil:
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPVerificationView]{Body: sipEnvelope(v)}, nil
		})
	s.bodySchema("/v1/sip/verify", http.MethodPut, reflectType[SIPVerifyRequest](), true)
}
