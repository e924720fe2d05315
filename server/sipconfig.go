package server

import (
	"context"
	"slices"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// trunkConfigAPI is the advanced trunk configuration as the API sees it.
type trunkConfigAPI struct{ t *trunkops.Trunks }

var _ api.SIPTrunkConfig = trunkConfigAPI{}

func (a trunkConfigAPI) PatchSIPConfig(ctx context.Context, accountID, scope, scopeID string, req api.SIPConfigPatch) (api.SIPAdvancedConfig, error) {
	p := trunkops.ConfigPatch{AccountID: accountID, Scope: scope, ScopeID: scopeID,
		ClearFailover: slices.Contains(req.Clear, "failover"), ClearCodecs: slices.Contains(req.Clear, "codecs"), ClearAlerts: slices.Contains(req.Clear, "alerts")}
	if f := req.Failover; f != nil {
		p.Failover = &store.FailoverSettings{Primary: f.Primary, Secondary: f.Secondary, Tertiary: f.Tertiary,
			Triggers: f.Triggers, TimeoutSeconds: f.TimeoutSeconds, Failback: f.Failback}
		p.FailoverEnabled = f.Enabled
	}
	if c := req.Codecs; c != nil {
		p.Codecs = &store.CodecSettings{Transcoding: c.Transcoding, Codecs: make([]store.CodecSetting, 0, len(c.Codecs))}
		for _, x := range c.Codecs {
			p.Codecs.Codecs = append(p.Codecs.Codecs, store.CodecSetting(x))
		}
	}
	if al := req.Alerts; al != nil {
		p.Alerts = &store.AlertSettings{WebhookURL: al.WebhookURL, UnreachableSeconds: al.UnreachableSeconds,
			FailureRatePercent: al.FailureRatePercent, ResponseTimeMS: al.ResponseTimeMS, FailureRateMinCalls: al.FailureRateMinCalls}
	}
	ts, err := a.t.PatchConfig(ctx, p)
	if err != nil {
		return api.SIPAdvancedConfig{}, err
	}
	return advancedView(ts), nil
}

func (a trunkConfigAPI) SIPConfig(ctx context.Context, accountID, number, trunkID string) (api.SIPAdvancedConfig, error) {
	ts, err := a.t.Config(ctx, accountID, number, trunkID)
	if err != nil {
		return api.SIPAdvancedConfig{}, err
	}
	return advancedView(ts), nil
}

func advancedView(ts store.TrunkSettings) api.SIPAdvancedConfig {
	var v api.SIPAdvancedConfig
	id := ts.ScopeID
	if ts.Scope == store.ScopeTrunk {
		v.TrunkID = &id
	} else {
		v.PhoneNumber = &id
	}
	if !ts.UpdatedAt.IsZero() {
		u := ts.UpdatedAt.UTC().Format(time.RFC3339Nano)
		v.UpdatedAt = &u
	}
	if f := ts.Failover; f != nil {
		enabled := f.Enabled
		v.Failover = &api.SIPFailoverConfig{Enabled: &enabled, Primary: f.Primary, Secondary: f.Secondary, Tertiary: f.Tertiary,
			Triggers: f.Triggers, TimeoutSeconds: f.TimeoutSeconds, Failback: f.Failback}
	}
	if c := ts.Codecs; c != nil {
		v.Codecs = &api.SIPCodecConfig{Transcoding: c.Transcoding, Codecs: make([]api.SIPCodec, 0, len(c.Codecs))}
		for _, x := range c.Codecs {
			v.Codecs.Codecs = append(v.Codecs.Codecs, api.SIPCodec(x))
		}
	}
	if al := ts.Alerts; al != nil {
		v.Alerts = &api.SIPAlertConfig{WebhookURL: al.WebhookURL, UnreachableSeconds: al.UnreachableSeconds,
			FailureRatePercent: al.FailureRatePercent, ResponseTimeMS: al.ResponseTimeMS, FailureRateMinCalls: al.FailureRateMinCalls}
	}
	return v
}
