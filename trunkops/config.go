package trunkops

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// Advanced trunk configuration (PATCH /v1/sip/config): validation of each
// section and the write, which also forgets where manual failback stuck.

// Codecs a trunk may list.
var KnownCodecs = []string{"PCMU", "PCMA", "G722", "OPUS", "G729"}

// Bounds of the settings.
const (
	maxFailoverTimeout    = 30
	maxUnreachableSeconds = 86400
	maxResponseTimeMS     = 60000
)

// ConfigPatch is what PATCH /v1/sip/config changes: each section sent
// replaces the stored one (Clear* removes it), sections not sent stay.
type ConfigPatch struct {
	AccountID, Scope, ScopeID string
	Failover                  *store.FailoverSettings
	FailoverEnabled           *bool
	Codecs                    *store.CodecSettings
	Alerts                    *store.AlertSettings
	ClearFailover             bool
	ClearCodecs               bool
	ClearAlerts               bool
}

// PatchConfig validates and applies p; mistakes are *store.ValidationError
// naming the field.
func (t *Trunks) PatchConfig(ctx context.Context, p ConfigPatch) (store.TrunkSettings, error) {
	ts, err := t.store.TrunkSettings(ctx, p.AccountID, p.Scope, p.ScopeID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.TrunkSettings{}, err
	}
	ts.AccountID, ts.Scope, ts.ScopeID = p.AccountID, p.Scope, p.ScopeID
	if p.Failover != nil {
		f := *p.Failover
		f.Enabled = p.FailoverEnabled == nil || *p.FailoverEnabled
		if err := validateFailover(&f); err != nil {
			return store.TrunkSettings{}, err
		}
		ts.Failover = &f
	}
	if p.ClearFailover {
		ts.Failover = nil
	}
	if p.Codecs != nil {
		c := *p.Codecs
		if err := validateCodecs(&c); err != nil {
			return store.TrunkSettings{}, err
		}
		ts.Codecs = &c
	}
	if p.ClearCodecs {
		ts.Codecs = nil
	}
	if p.Alerts != nil {
		if err := validateAlerts(p.Alerts); err != nil {
			return store.TrunkSettings{}, err
		}
		ts.Alerts = p.Alerts
	}
	if p.ClearAlerts {
		ts.Alerts = nil
	}
	out, err := t.store.PutTrunkSettings(ctx, ts)
	if err != nil {
		return store.TrunkSettings{}, err
	}
	number := p.ScopeID
	if p.Scope == store.ScopeTrunk {
		number = ""
	}
	t.ResetFailover(p.AccountID, number)
	t.log.Info("trunk configuration changed", "accountId", p.AccountID, "scope", p.Scope, "id", p.ScopeID,
		"failover", out.Failover != nil, "codecs", out.Codecs != nil, "alerts", out.Alerts != nil)
	return out, nil
}

func invalidField(field string, value any, format string, args ...any) error {
	return &store.ValidationError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

func validateFailover(f *store.FailoverSettings) error {
	for _, s := range []struct{ name, v string }{{"primary", f.Primary}, {"secondary", f.Secondary}, {"tertiary", f.Tertiary}} {
		if s.v == "" {
			continue
		}
		if _, err := sipdest.Parse(s.v); err != nil {
			return invalidField("failover."+s.name, s.v, "%s", strings.TrimPrefix(err.Error(), sipdest.ErrInvalid.Error()+": "))
		}
	}
	if f.Enabled && f.Secondary == "" {
		return invalidField("failover.secondary", "", "required: the server calls go to when the primary fails")
	}
	if f.Tertiary != "" && f.Secondary == "" {
		return invalidField("failover.secondary", "", "required with tertiary")
	}
	if f.Triggers == nil {
		f.Triggers = []string{store.TriggerUnreachable, store.TriggerAuthFailure, store.TriggerTimeout}
	}
	all := []string{store.TriggerUnreachable, store.TriggerAuthFailure, store.TriggerTimeout}
	for i, tr := range f.Triggers {
		if !slices.Contains(all, tr) {
			return invalidField(fmt.Sprintf("failover.triggers[%d]", i), tr, "use unreachable, auth_failure or timeout")
		}
		if slices.Contains(f.Triggers[:i], tr) {
			return invalidField(fmt.Sprintf("failover.triggers[%d]", i), tr, "listed twice")
		}
	}
	if f.TimeoutSeconds == 0 {
		f.TimeoutSeconds = int(DefaultFailoverTimeout.Seconds())
	}
	if f.TimeoutSeconds < 1 || f.TimeoutSeconds > maxFailoverTimeout {
		return invalidField("failover.timeout_seconds", f.TimeoutSeconds, "from 1 to %d", maxFailoverTimeout)
	}
	switch f.Failback {
	case "":
		f.Failback = store.FailbackAuto
	case store.FailbackAuto, store.FailbackManual:
	default:
		return invalidField("failover.failback", f.Failback, "use auto or manual")
	}
	return nil
}

func validateCodecs(c *store.CodecSettings) error {
	if len(c.Codecs) == 0 {
		return invalidField("codecs.codecs", nil, "required: the codecs in order of preference")
	}
	if len(c.Codecs) > len(KnownCodecs) {
		return invalidField("codecs.codecs", len(c.Codecs), "at most %d codecs", len(KnownCodecs))
	}
	enabled := 0
	for i := range c.Codecs {
		name := strings.ToUpper(c.Codecs[i].Name)
		if !slices.Contains(KnownCodecs, name) {
			return invalidField(fmt.Sprintf("codecs.codecs[%d].name", i), c.Codecs[i].Name, "use one of %s", strings.Join(KnownCodecs, ", "))
		}
		if slices.ContainsFunc(c.Codecs[:i], func(o store.CodecSetting) bool { return strings.EqualFold(o.Name, name) }) {
			return invalidField(fmt.Sprintf("codecs.codecs[%d].name", i), c.Codecs[i].Name, "listed twice")
		}
		c.Codecs[i].Name = name
		if c.Codecs[i].Enabled {
			enabled++
		}
	}
	if enabled == 0 {
		return invalidField("codecs.codecs", nil, "at least one codec must be enabled")
	}
	return nil
}

func validateAlerts(a *store.AlertSettings) error {
	if a.WebhookURL != "" {
		if u, err := url.Parse(a.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(a.WebhookURL) > 2048 {
			return invalidField("alerts.webhook_url", a.WebhookURL, "must be an absolute http:// or https:// URL")
		}
	}
	switch {
	case a.UnreachableSeconds < 0 || a.UnreachableSeconds > maxUnreachableSeconds:
		return invalidField("alerts.unreachable_seconds", a.UnreachableSeconds, "from 0 (off) to %d", maxUnreachableSeconds)
	case a.FailureRatePercent < 0 || a.FailureRatePercent > 100:
		return invalidField("alerts.failure_rate_percent", a.FailureRatePercent, "from 0 (off) to 100")
	case a.ResponseTimeMS < 0 || a.ResponseTimeMS > maxResponseTimeMS:
		return invalidField("alerts.response_time_ms", a.ResponseTimeMS, "from 0 (off) to %d", maxResponseTimeMS)
	case a.FailureRateMinCalls < 0 || a.FailureRateMinCalls > maxAttemptsKept:
		return invalidField("alerts.failure_rate_min_calls", a.FailureRateMinCalls, "from 0 (default %d) to %d", defaultFailureMinCalls, maxAttemptsKept)
	}
	return nil
}

// Config reads a number's effective settings (its own sections, else its
// trunk's).
func (t *Trunks) Config(ctx context.Context, accountID, number, trunkID string) (store.TrunkSettings, error) {
	return t.store.EffectiveTrunkSettings(ctx, accountID, number, trunkID)
}
