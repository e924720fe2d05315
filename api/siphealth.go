package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPHealth is the node's trunk health keeper (trunkops.Health behind the
// server's adapter): the health of an account's number's outbound endpoint.
type SIPHealth interface {
	SIPHealth(ctx context.Context, accountID, number string) (SIPHealthView, error)
}

// SIPHealthView is GET /v1/sip/status's data.
type SIPHealthView struct {
	PhoneNumber string `json:"phone_number" example:"+14150000000"`
	Status      string `json:"status" enum:"healthy,unreachable,unchecked" doc:"unchecked: the number has no outbound endpoint to probe (inbound only)."`
	// ResponseTimeMS is null when unreachable or unchecked.
	ResponseTimeMS *float64 `json:"response_time_ms" doc:"Round trip of the last OPTIONS probe; null when unreachable or unchecked." example:"42"`
	CheckedAt      *string  `json:"checked_at" format:"date-time" doc:"When the last probe ran; null when unchecked."`
	Endpoint       *string  `json:"endpoint" doc:"The probed SIP URI; null when unchecked." example:"sip:trunk.example.com:5060;transport=udp"`
	UptimePercent  *float64 `json:"uptime_percentage" doc:"Share of the last 24 hours' probes that got an answer; null when unchecked." example:"99.3"`
	AverageMS      *float64 `json:"average_response_time_ms" doc:"Mean round trip of the answered probes of the last 24 hours." example:"40.5"`
	Probes         int      `json:"probes" doc:"Probes in the last 24 hours."`
	LastError      *string  `json:"last_error" doc:"The last failed probe's error, null when none failed in the last 24 hours."`
	LastErrorAt    *string  `json:"last_error_at" format:"date-time"`
}

// HealthView converts durations and times to the API's shape.
func HealthView(number, status, endpoint string, rtt time.Duration, checkedAt time.Time, uptime float64,
	avg time.Duration, probes int, lastErr string, lastErrAt time.Time) SIPHealthView {
	v := SIPHealthView{PhoneNumber: number, Status: status, Probes: probes}
	ms := func(d time.Duration) *float64 { f := float64(d.Microseconds()) / 1000; return &f }
	ts := func(t time.Time) *string { s := t.UTC().Format(time.RFC3339Nano); return &s }
	if endpoint != "" {
		v.Endpoint = &endpoint
		v.UptimePercent = &uptime
	}
	if !checkedAt.IsZero() {
		v.CheckedAt = ts(checkedAt)
	}
	if status == "healthy" {
		v.ResponseTimeMS = ms(rtt)
	}
	if probes > 0 && avg > 0 {
		v.AverageMS = ms(avg)
	}
	if lastErr != "" {
		v.LastError, v.LastErrorAt = &lastErr, ts(lastErrAt)
	}
	return v
}

func registerSIPHealth(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("getSipStatus", http.MethodGet, "/v1/sip/status", "Get trunk health",
		"The health of the number's outbound trunk endpoint, probed with SIP OPTIONS every minute (--sip-health-interval) and on the spot when the last probe is older: healthy (any final response), unreachable (none within 5 s), or unchecked for an inbound-only number. Uptime and average response time are over the last 24 hours.",
		http.StatusNotFound),
		func(ctx context.Context, in *struct {
			PhoneNumber string `query:"phone_number" example:"+14150000000" doc:"Required, E.164."`
		}) (*sipOut[SIPHealthView], error) {
			acct, num, err := s.queryNumber(ctx, in.PhoneNumber)
			if err != nil {
				return nil, err
			}
			if s.cfg.Health == nil {
				return nil, huma.Error503ServiceUnavailable("trunk health is not running on this node")
			}
			v, err := s.cfg.Health.SIPHealth(ctx, acct, num)
			if errors.Is(err, store.ErrNotFound) {
				return nil, huma.Error404NotFound(num + " has no SIP configuration")
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			return &sipOut[SIPHealthView]{Body: sipEnvelope(v)}, nil
		})
}

// queryNumber resolves a phone_number query parameter to the caller's
// account and the number as stored (a 400 naming the parameter when it is
// missing or malformed).
func (s *Server) queryNumber(ctx context.Context, raw string) (accountID, number string, err error) {
	return s.resolveNumber(ctx, raw, queryProblem)
}

// bodyNumber is queryNumber for a phone_number body field.
func (s *Server) bodyNumber(ctx context.Context, raw string) (accountID, number string, err error) {
	return s.resolveNumber(ctx, raw, fieldProblem)
}

func (s *Server) resolveNumber(ctx context.Context, raw string, problem func(field string, value any, reason string) error) (string, string, error) {
	if raw == "" {
		return "", "", problem("phone_number", "", "required")
	}
	acct := principal(ctx).AccountID
	num, err := s.cfg.Store.ResolveSIPNumber(ctx, acct, raw)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return "", "", problem("phone_number", raw, ve.Reason)
	}
	if err != nil {
		return "", "", s.internal(ctx, err)
	}
	return acct, num, nil
}
