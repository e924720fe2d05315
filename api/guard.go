package api

import (
	"context"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/store"
)

// Failed authentications (a wrong client secret, an unknown API key, a
// forged token) count against their source in the HTTP guard; a source past
// its budget gets 429 on every authenticated route until its ban ends. The
// node's operator (an account with the admin feature) lists the bans of
// every zone (SIP and HTTP) and lifts them.

type remoteAddrKey struct{}

// withRemoteAddr keeps the connection's source address in the context.
func withRemoteAddr(r *http.Request) *http.Request {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), remoteAddrKey{}, ap.Addr().Unmap()))
}

// sourceAddr is the address an API request came from (invalid when unknown).
func sourceAddr(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(remoteAddrKey{}).(netip.Addr)
	return a
}

// BanList is a guard whose bans the API shows and lifts (*guard.Guard).
type BanList interface {
	Zone() string
	Bans() []guard.Ban
	Unban(netip.Addr) bool
}

// throttled reports whether the request's source is banned from
// authenticating, with the error to answer.
func (s *Server) throttled(ctx context.Context) error {
	g := s.cfg.Guard
	a := sourceAddr(ctx)
	if g == nil || !a.IsValid() || !g.Banned(a) {
		return nil
	}
	return tooManyFailures()
}

func tooManyFailures() error {
	return &retryAfter{huma.NewError(http.StatusTooManyRequests, "too many failed authentications from this address; try again later"), guard.DefaultBanTime}
}

// authFailed counts a failed authentication of the request's source against
// target (a client ID).
func (s *Server) authFailed(ctx context.Context, target string) {
	if a := sourceAddr(ctx); s.cfg.Guard != nil && a.IsValid() {
		s.cfg.Guard.AuthFailed(a, target)
	}
}

// retryAfter adds a Retry-After header to an error response.
type retryAfter struct {
	huma.StatusError
	after time.Duration
}

func (e *retryAfter) GetHeaders() http.Header {
	return http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(e.after.Seconds())))}}
}

// BanView is a banned source.
type BanView struct {
	Address         string    `json:"address" example:"203.0.113.7"`
	Zone            string    `json:"zone" enum:"sip,http" doc:"What the source is banned from: SIP (every request dropped unanswered) or the HTTP API (authentication refused with 429)."`
	Reason          string    `json:"reason" enum:"flood,auth,manual,scanner" doc:"flood: past the request budget; auth: past the failed-authentication budget; scanner: a SIP scanner's User-Agent."`
	Since           time.Time `json:"since"`
	Until           time.Time `json:"until"`
	DroppedRequests int64     `json:"droppedRequests" doc:"Requests dropped since the ban began."`
}

type banList struct {
	Body struct {
		Bans []BanView `json:"bans"`
	}
}

func registerBans(s *Server) {
	tags := []string{"Node"}
	huma.Register(s.api, huma.Operation{
		OperationID: "listBans", Method: http.MethodGet, Path: "/api/v1/bans", Summary: "List banned sources",
		Description: "Sources the flood guard drops or refuses now, oldest ban first. Needs an account with the admin feature (the node's first account).",
		Tags:        tags, Security: bearerBasic, Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*banList, error) {
		if err := s.requireAdmin(ctx); err != nil {
			return nil, err
		}
		out := &banList{}
		out.Body.Bans = []BanView{}
		for _, l := range s.cfg.Bans {
			for _, b := range l.Bans() {
				out.Body.Bans = append(out.Body.Bans, BanView{Address: b.Address.String(), Zone: b.Zone, Reason: b.Reason,
					Since: b.Since.UTC(), Until: b.Until.UTC(), DroppedRequests: b.Dropped})
			}
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteBan", Method: http.MethodDelete, Path: "/api/v1/bans/{address}", Summary: "Lift a ban",
		Description: "Lifts the bans of an address in every zone and forgets its counts. Needs the admin feature.",
		Tags:        tags, Security: bearerBasic, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *struct {
		Address string `path:"address" maxLength:"64" example:"203.0.113.7"`
	}) (*struct{}, error) {
		if err := s.requireAdmin(ctx); err != nil {
			return nil, err
		}
		a, err := netip.ParseAddr(in.Address)
		if err != nil {
			return nil, huma.Error400BadRequest("address is not an IP address", &huma.ErrorDetail{Location: "path.address", Value: in.Address, Message: err.Error()})
		}
		lifted := false
		for _, l := range s.cfg.Bans {
			lifted = l.Unban(a) || lifted
		}
		if !lifted {
			return nil, huma.Error404NotFound(in.Address + " is not banned")
		}
		s.log.InfoContext(ctx, "ban lifted", "address", a.String(), "by", principal(ctx).ClientID)
		return nil, nil
	})
}

// requireAdmin answers 403 unless the caller's account has the admin feature.
func (s *Server) requireAdmin(ctx context.Context) error {
	acct, err := s.cfg.Store.Account(ctx, principal(ctx).AccountID)
	if err != nil {
		return s.internal(ctx, err)
	}
	if !acct.HasFeature(store.FeatureAdmin) {
		return huma.Error403Forbidden("this account may not operate the node (it lacks the admin feature)")
	}
	return nil
}
