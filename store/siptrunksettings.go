package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Advanced trunk settings (PATCH /v1/sip/config): failover servers,
// codec preferences and alert thresholds of a phone number or a trunk. A
// number's own settings win over its trunk's, section by section.

// Settings scopes.
const (
	ScopeNumber = "number"
	ScopeTrunk  = "trunk"
)

// Failover triggers and failback modes.
const (
	TriggerUnreachable = "unreachable"
	TriggerAuthFailure = "auth_failure"
	TriggerTimeout     = "timeout"
	FailbackAuto       = "auto"
	FailbackManual     = "manual"
)

// FailoverSettings are the servers an outbound call tries in order.
type FailoverSettings struct {
	Enabled   bool   `json:"enabled"`
	Primary   string `json:"primary,omitempty"` // "": the configuration's sip_endpoint
	Secondary string `json:"secondary,omitempty"`
	Tertiary  string `json:"tertiary,omitempty"`
	// Triggers are what moves a call to the next server.
	Triggers []string `json:"triggers"`
	// TimeoutSeconds is how long an attempt may go without any response
	// before the timeout trigger fires.
	TimeoutSeconds int    `json:"timeout_seconds"`
	Failback       string `json:"failback"`
}

// CodecSetting is one codec's place and state on a trunk.
type CodecSetting struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// CodecSettings order and enable the codecs of outbound offers.
type CodecSettings struct {
	Codecs      []CodecSetting `json:"codecs"`
	Transcoding bool           `json:"transcoding"`
}

// AlertSettings are thresholds that notify WebhookURL when crossed and
// when cleared; a zero threshold is off.
type AlertSettings struct {
	WebhookURL          string  `json:"webhook_url,omitempty"`
	UnreachableSeconds  int     `json:"unreachable_seconds,omitempty"`
	FailureRatePercent  float64 `json:"failure_rate_percent,omitempty"`
	ResponseTimeMS      int     `json:"response_time_ms,omitempty"`
	FailureRateMinCalls int     `json:"failure_rate_min_calls,omitempty"`
}

// TrunkSettings are one number's or trunk's advanced settings; nil
// sections are unset.
type TrunkSettings struct {
	AccountID string
	Scope     string
	ScopeID   string
	Failover  *FailoverSettings
	Codecs    *CodecSettings
	Alerts    *AlertSettings
	UpdatedAt time.Time
}

type trunkSettingsRow struct {
	AccountID string    `db:"account_id"`
	Scope     string    `db:"scope"`
	ScopeID   string    `db:"scope_id"`
	Failover  string    `db:"failover"`
	Codecs    string    `db:"codecs"`
	Alerts    string    `db:"alerts"`
	UpdatedAt time.Time `db:"updated_at"`
}

func jsonOrEmpty(v any, isNil bool) string {
	if isNil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (r trunkSettingsRow) settings() (TrunkSettings, error) {
	s := TrunkSettings{AccountID: r.AccountID, Scope: r.Scope, ScopeID: r.ScopeID, UpdatedAt: r.UpdatedAt.UTC()}
	var errs []error
	if r.Failover != "" {
		s.Failover = &FailoverSettings{}
		errs = append(errs, json.Unmarshal([]byte(r.Failover), s.Failover))
	}
	if r.Codecs != "" {
		s.Codecs = &CodecSettings{}
		errs = append(errs, json.Unmarshal([]byte(r.Codecs), s.Codecs))
	}
	if r.Alerts != "" {
		s.Alerts = &AlertSettings{}
		errs = append(errs, json.Unmarshal([]byte(r.Alerts), s.Alerts))
	}
	if err := errors.Join(errs...); err != nil {
		return TrunkSettings{}, fmt.Errorf("trunk settings %s %s: stored JSON: %w", r.Scope, r.ScopeID, err)
	}
	return s, nil
}

// TrunkSettings reads a number's or trunk's settings; ErrNotFound when it
// has none.
func (s *Store) TrunkSettings(ctx context.Context, accountID, scope, scopeID string) (TrunkSettings, error) {
	var r trunkSettingsRow
	err := s.db.GetContext(ctx, &r, s.rebind(`SELECT account_id, scope, scope_id, failover, codecs, alerts, updated_at
		FROM sip_trunk_settings WHERE account_id = ? AND scope = ? AND scope_id = ?`), accountID, scope, scopeID)
	if errors.Is(err, sql.ErrNoRows) {
		return TrunkSettings{}, fmt.Errorf("trunk settings of %s %s: %w", scope, scopeID, ErrNotFound)
	}
	if err != nil {
		return TrunkSettings{}, fmt.Errorf("trunk settings of %s %s: %w", scope, scopeID, err)
	}
	return r.settings()
}

// AllTrunkSettings reads every account's settings (health probes and
// alerts watch them).
func (s *Store) AllTrunkSettings(ctx context.Context) ([]TrunkSettings, error) {
	var rows []trunkSettingsRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT account_id, scope, scope_id, failover, codecs, alerts, updated_at
		FROM sip_trunk_settings ORDER BY account_id, scope, scope_id`); err != nil {
		return nil, fmt.Errorf("trunk settings: %w", err)
	}
	out := make([]TrunkSettings, 0, len(rows))
	for _, r := range rows {
		ts, err := r.settings()
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	return out, nil
}

// PutTrunkSettings writes a number's or trunk's settings whole (the
// caller merged and validated the patch).
func (s *Store) PutTrunkSettings(ctx context.Context, ts TrunkSettings) (TrunkSettings, error) {
	ts.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	f, c, a := jsonOrEmpty(ts.Failover, ts.Failover == nil), jsonOrEmpty(ts.Codecs, ts.Codecs == nil), jsonOrEmpty(ts.Alerts, ts.Alerts == nil)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return TrunkSettings{}, fmt.Errorf("put trunk settings: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sip_trunk_settings WHERE account_id = ? AND scope = ? AND scope_id = ?"),
		ts.AccountID, ts.Scope, ts.ScopeID); err != nil {
		return TrunkSettings{}, fmt.Errorf("put trunk settings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sip_trunk_settings (account_id, scope, scope_id, failover, codecs, alerts, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), ts.AccountID, ts.Scope, ts.ScopeID, f, c, a, ts.UpdatedAt); err != nil {
		return TrunkSettings{}, fmt.Errorf("put trunk settings: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return TrunkSettings{}, fmt.Errorf("put trunk settings: %w", err)
	}
	return ts, nil
}

// EffectiveTrunkSettings merges a route's settings: the number's own
// sections, else its trunk's (trunkID "" for none).
func (s *Store) EffectiveTrunkSettings(ctx context.Context, accountID, number, trunkID string) (TrunkSettings, error) {
	out := TrunkSettings{AccountID: accountID, Scope: ScopeNumber, ScopeID: number}
	own, err := s.TrunkSettings(ctx, accountID, ScopeNumber, number)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return TrunkSettings{}, err
	}
	if err == nil {
		out = own
	}
	if trunkID == "" {
		return out, nil
	}
	tr, err := s.TrunkSettings(ctx, accountID, ScopeTrunk, trunkID)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return TrunkSettings{}, err
	}
	if out.Failover == nil {
		out.Failover = tr.Failover
	}
	if out.Codecs == nil {
		out.Codecs = tr.Codecs
	}
	if out.Alerts == nil {
		out.Alerts = tr.Alerts
	}
	return out, nil
}
