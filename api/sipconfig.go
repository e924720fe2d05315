package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPTrunkConfig keeps the advanced trunk configuration (trunkops.Trunks
// behind the server's adapter): failover servers, codecs, alerts.
type SIPTrunkConfig interface {
	// PatchSIPConfig applies a patch to the number's or trunk's settings;
	// mistakes are *store.ValidationError naming the field.
	PatchSIPConfig(ctx context.Context, accountID, scope, scopeID string, req SIPConfigPatch) (SIPAdvancedConfig, error)
	// SIPConfig is a number's effective settings (its own, else its trunk's).
	SIPConfig(ctx context.Context, accountID, number, trunkID string) (SIPAdvancedConfig, error)
}

// SIPFailoverConfig is the failover section.
type SIPFailoverConfig struct {
	Enabled        *bool    `json:"enabled,omitempty" doc:"Default true when the section is sent."`
	Primary        string   `json:"primary,omitempty" example:"sip:sbc1.example.com:5060" doc:"Default: the number's outbound sip_endpoint."`
	Secondary      string   `json:"secondary,omitempty" example:"sip:sbc2.example.com:5060" doc:"Required when enabled."`
	Tertiary       string   `json:"tertiary,omitempty" example:"sip:sbc3.example.com;transport=tcp"`
	Triggers       []string `json:"triggers,omitempty" example:"[\"unreachable\",\"auth_failure\",\"timeout\"]" doc:"What moves a call to the next server: unreachable (health probes, transport errors, 5xx), auth_failure (401, 403, 407), timeout (no response within timeout_seconds). Default all three."`
	TimeoutSeconds int      `json:"timeout_seconds,omitempty" example:"5" doc:"1 to 30, default 5."`
	Failback       string   `json:"failback,omitempty" enum:"auto,manual" doc:"auto: calls return to the primary as soon as its probes answer; manual: they stay on the server that last answered until the configuration is PATCHed. Default auto."`
}

// SIPCodec is one codec's place and state.
type SIPCodec struct {
	Name    string `json:"name" enum:"PCMU,PCMA,G722,OPUS,G729" example:"PCMU"`
	Enabled bool   `json:"enabled" example:"true"`
}

// SIPCodecConfig is the codecs section.
type SIPCodecConfig struct {
	Codecs      []SIPCodec `json:"codecs" doc:"In order of preference: outbound offers on this trunk list enabled codecs in this order first and leave disabled ones out; the answer to the trunk's own INVITEs picks the offered codec this list prefers and never a disabled one (an offer of only disabled codecs is answered as without the list)."`
	Transcoding bool       `json:"transcoding" doc:"Allow transcoding between legs that share no codec. false: a call transferred to the trunk offers only codecs its caller's leg passes through untouched (its own; PCMU and PCMA count as one); true: the list's codecs are offered as listed and the server transcodes."`
}

// SIPAlertConfig is the alerts section; a zero threshold is off.
type SIPAlertConfig struct {
	WebhookURL          string  `json:"webhook_url,omitempty" format:"uri" example:"https://example.com/hooks/trunk-alerts" doc:"Receives a JSON POST when an alert fires and when it clears."`
	UnreachableSeconds  int     `json:"unreachable_seconds,omitempty" example:"120" doc:"Fire when an endpoint's probes have failed for this long."`
	FailureRatePercent  float64 `json:"failure_rate_percent,omitempty" example:"20" doc:"Fire when this share of the last hour's outbound attempts failed on the trunk."`
	FailureRateMinCalls int     `json:"failure_rate_min_calls,omitempty" example:"5" doc:"Attempts needed before the failure rate counts (default 5)."`
	ResponseTimeMS      int     `json:"response_time_ms,omitempty" example:"500" doc:"Fire when an endpoint's OPTIONS round trip exceeds this."`
}

// SIPConfigPatch is PATCH /v1/sip/config's body.
type SIPConfigPatch struct {
	PhoneNumber *string            `json:"phone_number,omitempty" example:"+14150000000" doc:"The number to configure (with SIP configuration in this account); or trunk_id."`
	TrunkID     *string            `json:"trunk_id,omitempty" example:"trk_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e" doc:"The trunk to configure (its numbers inherit sections they do not set); or phone_number."`
	Failover    *SIPFailoverConfig `json:"failover,omitempty" doc:"Replaces the failover section."`
	Codecs      *SIPCodecConfig    `json:"codecs,omitempty" doc:"Replaces the codecs section."`
	Alerts      *SIPAlertConfig    `json:"alerts,omitempty" doc:"Replaces the alerts section."`
	Clear       []string           `json:"clear,omitempty" example:"[\"alerts\"]" doc:"Sections to remove: failover, codecs, alerts."`
}

// SIPAdvancedConfig is a number's or trunk's advanced configuration.
type SIPAdvancedConfig struct {
	PhoneNumber *string            `json:"phone_number"`
	TrunkID     *string            `json:"trunk_id"`
	Failover    *SIPFailoverConfig `json:"failover" doc:"null when not set."`
	Codecs      *SIPCodecConfig    `json:"codecs" doc:"null when not set."`
	Alerts      *SIPAlertConfig    `json:"alerts" doc:"null when not set."`
	UpdatedAt   *string            `json:"updated_at" format:"date-time"`
}

func registerSIPConfig(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	huma.Register(s.api, op("patchSipConfig", http.MethodPatch, "/v1/sip/config", "Set failover, codecs and alerts",
		"Advanced configuration of a number (phone_number) or a trunk (trunk_id; its numbers inherit each section they do not set): failover servers with triggers and failback, codec order and enablement for outbound offers, alert thresholds with a webhook. Each section sent replaces the stored one; clear removes sections. The answer is the stored configuration; GET /v1/sip shows a number's effective one.",
		http.StatusNotFound),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPAdvancedConfig], error) {
			if s.cfg.TrunkConfig == nil {
				return nil, huma.Error503ServiceUnavailable("trunk configuration is not available on this node")
			}
			var body SIPConfigPatch
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			acct := principal(ctx).AccountID
			var scope, id string
			switch {
			case body.PhoneNumber != nil && body.TrunkID != nil:
				return nil, fieldProblem("trunk_id", *body.TrunkID, "send phone_number or trunk_id, not both")
			case body.PhoneNumber != nil:
				_, num, err := s.bodyNumber(ctx, *body.PhoneNumber)
				if err != nil {
					return nil, err
				}
				cs, err := s.cfg.Store.SIPConfigurations(ctx, acct, num)
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				if len(cs) == 0 {
					return nil, huma.Error404NotFound(num + " has no SIP configuration in this account: attach it first (POST /v1/sip/attach)")
				}
				scope, id = store.ScopeNumber, num
			case body.TrunkID != nil:
				if _, err := s.cfg.Store.SIPTrunk(ctx, acct, *body.TrunkID); errors.Is(err, store.ErrNotFound) {
					return nil, huma.Error404NotFound("no trunk " + *body.TrunkID + " in this account")
				} else if err != nil {
					return nil, s.internal(ctx, err)
				}
				scope, id = store.ScopeTrunk, *body.TrunkID
			default:
				return nil, fieldProblem("phone_number", nil, "required: phone_number or trunk_id")
			}
			for i, c := range body.Clear {
				if !slices.Contains([]string{"failover", "codecs", "alerts"}, c) {
					return nil, fieldProblem(fmt.Sprintf("clear[%d]", i), c, "use failover, codecs or alerts")
				}
			}
			if body.Failover == nil && body.Codecs == nil && body.Alerts == nil && len(body.Clear) == 0 {
				return nil, fieldProblem("failover", nil, "send at least one of failover, codecs, alerts or clear")
			}
			v, err := s.cfg.TrunkConfig.PatchSIPConfig(ctx, acct, scope, id, body)
			if err != nil {
				return nil, s.sipError(ctx, err)
			}
			return &sipOut[SIPAdvancedConfig]{Body: sipEnvelope(v)}, nil
		})
	s.bodySchema("/v1/sip/config", http.MethodPatch, reflectType[SIPConfigPatch](), true)
	for _, p := range []string{"failover", "codecs", "alerts"} {
		s.nullableObject("SIPAdvancedConfig", p)
	}
}
