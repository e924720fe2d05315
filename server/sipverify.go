package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// callerIDs checks createCall's caller IDs with the node's verifier (set
// before any call is placed).
type callerIDs struct{ s *Server }

func (c callerIDs) CheckCallerID(ctx context.Context, accountID, from string) error {
	return c.s.verifier.CheckCallerID(ctx, accountID, from)
}

// verifyAPI is the verifier as the API sees it.
type verifyAPI struct {
	v        *trunkops.Verifier
	required bool
}

var _ api.SIPVerification = verifyAPI{}

func (a verifyAPI) StartVerification(ctx context.Context, accountID, number string) (api.SIPVerificationView, error) {
	st, err := a.v.Start(ctx, accountID, number)
	var limited *trunkops.VerifyRateLimitedError
	switch {
	case errors.As(err, &limited):
		return api.SIPVerificationView{}, &api.TestCallRateLimitError{Message: limited.Error(), RetryAfter: limited.RetryAfter}
	case errors.Is(err, trunkops.ErrVerificationRunning):
		return api.SIPVerificationView{}, api.ErrVerificationRunning
	case errors.Is(err, calls.ErrCapacity):
		return api.SIPVerificationView{}, fmt.Errorf("%w: %s", api.ErrCallCapacity, strings.TrimPrefix(err.Error(), calls.ErrCapacity.Error()+": "))
	case err != nil:
		return api.SIPVerificationView{}, err
	}
	return a.view(st), nil
}

func (a verifyAPI) VerificationStatus(ctx context.Context, accountID, number string) (api.SIPVerificationView, error) {
	st, err := a.v.Status(ctx, accountID, number)
	if err != nil {
		return api.SIPVerificationView{}, err
	}
	return a.view(st), nil
}

func (a verifyAPI) view(st trunkops.VerifyStatus) api.SIPVerificationView {
	return api.VerificationView(st.Number, st.Status, st.Method, st.VerifiedAt, st.CallID, st.Reason, st.StartedAt, a.required)
}
