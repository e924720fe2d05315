package server

import (
	"context"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// healthAPI is the trunk health keeper as the API sees it.
type healthAPI struct{ h *trunkops.Health }

var _ api.SIPHealth = healthAPI{}

func (a healthAPI) SIPHealth(ctx context.Context, accountID, number string) (api.SIPHealthView, error) {
	r, err := a.h.Check(ctx, accountID, number)
	if err != nil {
		return api.SIPHealthView{}, err
	}
	return api.HealthView(number, r.Status, r.Endpoint, r.ResponseTime, r.CheckedAt, r.UptimePercent,
		r.AverageResponseTime, r.Probes, r.LastError, r.LastErrorAt), nil
}
