package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Application is a voice application: where its calls ask what to do, and who
// may reach it over the Inbound SIP URI.
type Application struct {
	ID                          string
	AccountID                   string
	Name                        string
	CallInitiatedCallbackURL    string
	CallInitiatedMethod         string
	CallInitiatedFallbackURL    string
	CallInitiatedFallbackMethod string
	CallStatusCallbackURL       string
	CallStatusCallbackMethod    string
	CallbackUsername            string
	CallbackPassword            string // clear in memory, sealed at rest
	InboundSIPEnabled           bool
	PasswordAuthEnabled         bool
	SIPHA1MD5                   string // digest HA1 of the SIP password; the password itself is never kept
	SIPHA1SHA256                string
	AllowedSourceIPs            []string // canonical IPv4 CIDRs
	AllowedRegions              []string
	// SIPDigestAlgorithms are the algorithms the Inbound SIP URI challenges
	// with, most preferred first; empty is the node default.
	SIPDigestAlgorithms []string
	ModuleBinding
	// MaxConcurrentCalls caps the application's live calls; 0 is the node
	// default.
	MaxConcurrentCalls int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// SIPURI is the application's Inbound SIP URI, or "" while inbound SIP calls
// are disabled.
func (a Application) SIPURI(domain string) string {
	if !a.InboundSIPEnabled {
		return ""
	}
	return "sip:" + a.ID + "@" + domain
}

type applicationRow struct {
	ID                          string    `db:"id"`
	AccountID                   string    `db:"account_id"`
	Name                        string    `db:"name"`
	CallInitiatedCallbackURL    string    `db:"call_initiated_callback_url"`
	CallInitiatedMethod         string    `db:"call_initiated_method"`
	CallInitiatedFallbackURL    string    `db:"call_initiated_fallback_url"`
	CallInitiatedFallbackMethod string    `db:"call_initiated_fallback_method"`
	CallStatusCallbackURL       string    `db:"call_status_callback_url"`
	CallStatusCallbackMethod    string    `db:"call_status_callback_method"`
	CallbackUsername            string    `db:"callback_username"`
	CallbackPasswordSealed      string    `db:"callback_password_sealed"`
	InboundSIPEnabled           bool      `db:"inbound_sip_enabled"`
	PasswordAuthEnabled         bool      `db:"password_auth_enabled"`
	SIPHA1MD5                   string    `db:"sip_ha1_md5"`
	SIPHA1SHA256                string    `db:"sip_ha1_sha256"`
	AllowedSourceIPs            string    `db:"allowed_source_ips"`
	AllowedRegions              string    `db:"allowed_regions"`
	SIPDigestAlgorithms         string    `db:"sip_digest_algorithms"`
	ModuleID                    string    `db:"module_id"`
	ModuleEvents                string    `db:"module_events"`
	ModuleMemoryPages           int64     `db:"module_memory_pages"`
	ModuleTimeoutMS             int64     `db:"module_timeout_ms"`
	MaxConcurrentCalls          int64     `db:"max_concurrent_calls"`
	CreatedAt                   time.Time `db:"created_at"`
	UpdatedAt                   time.Time `db:"updated_at"`
}

const applicationColumns = `id, account_id, name, call_initiated_callback_url, call_initiated_method,
	call_initiated_fallback_url, call_initiated_fallback_method, call_status_callback_url,
	call_status_callback_method, callback_username, callback_password_sealed, inbound_sip_enabled,
	password_auth_enabled, sip_ha1_md5, sip_ha1_sha256, allowed_source_ips, allowed_regions, sip_digest_algorithms,
	module_id, module_events, module_memory_pages, module_timeout_ms, max_concurrent_calls, created_at, updated_at`

func (s *Store) toRow(a Application) (applicationRow, error) {
	sealed, err := s.sealer.seal(a.CallbackPassword)
	if err != nil {
		return applicationRow{}, err
	}
	ips, err := json.Marshal(nonNil(a.AllowedSourceIPs))
	if err != nil {
		return applicationRow{}, fmt.Errorf("encode allowedSourceIps: %w", err)
	}
	regions, err := json.Marshal(nonNil(a.AllowedRegions))
	if err != nil {
		return applicationRow{}, fmt.Errorf("encode allowedRegions: %w", err)
	}
	events, err := json.Marshal(nonNil(a.ModuleEvents))
	if err != nil {
		return applicationRow{}, fmt.Errorf("encode moduleEvents: %w", err)
	}
	algs, err := json.Marshal(nonNil(a.SIPDigestAlgorithms))
	if err != nil {
		return applicationRow{}, fmt.Errorf("encode sipDigestAlgorithms: %w", err)
	}
	return applicationRow{
		ID: a.ID, AccountID: a.AccountID, Name: a.Name,
		CallInitiatedCallbackURL: a.CallInitiatedCallbackURL, CallInitiatedMethod: a.CallInitiatedMethod,
		CallInitiatedFallbackURL: a.CallInitiatedFallbackURL, CallInitiatedFallbackMethod: a.CallInitiatedFallbackMethod,
		CallStatusCallbackURL: a.CallStatusCallbackURL, CallStatusCallbackMethod: a.CallStatusCallbackMethod,
		CallbackUsername: a.CallbackUsername, CallbackPasswordSealed: sealed,
		InboundSIPEnabled: a.InboundSIPEnabled, PasswordAuthEnabled: a.PasswordAuthEnabled,
		SIPHA1MD5: a.SIPHA1MD5, SIPHA1SHA256: a.SIPHA1SHA256,
		AllowedSourceIPs: string(ips), AllowedRegions: string(regions), SIPDigestAlgorithms: string(algs),
		ModuleID: a.ModuleID, ModuleEvents: string(events),
		ModuleMemoryPages: int64(a.ModuleMemoryPages), ModuleTimeoutMS: int64(a.ModuleTimeoutMS),
		MaxConcurrentCalls: int64(a.MaxConcurrentCalls), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}, nil
}

func (s *Store) fromRow(r applicationRow) (Application, error) {
	pw, err := s.sealer.open(r.CallbackPasswordSealed)
	if err != nil {
		return Application{}, fmt.Errorf("application %s: %w", r.ID, err)
	}
	a := Application{
		ID: r.ID, AccountID: r.AccountID, Name: r.Name,
		CallInitiatedCallbackURL: r.CallInitiatedCallbackURL, CallInitiatedMethod: r.CallInitiatedMethod,
		CallInitiatedFallbackURL: r.CallInitiatedFallbackURL, CallInitiatedFallbackMethod: r.CallInitiatedFallbackMethod,
		CallStatusCallbackURL: r.CallStatusCallbackURL, CallStatusCallbackMethod: r.CallStatusCallbackMethod,
		CallbackUsername: r.CallbackUsername, CallbackPassword: pw,
		InboundSIPEnabled: r.InboundSIPEnabled, PasswordAuthEnabled: r.PasswordAuthEnabled,
		SIPHA1MD5: r.SIPHA1MD5, SIPHA1SHA256: r.SIPHA1SHA256, MaxConcurrentCalls: int(r.MaxConcurrentCalls),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	a.ModuleID, a.ModuleMemoryPages, a.ModuleTimeoutMS = r.ModuleID, int(r.ModuleMemoryPages), int(r.ModuleTimeoutMS)
	if err := json.Unmarshal([]byte(r.ModuleEvents), &a.ModuleEvents); err != nil {
		return Application{}, fmt.Errorf("application %s: module_events: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.AllowedSourceIPs), &a.AllowedSourceIPs); err != nil {
		return Application{}, fmt.Errorf("application %s: allowed_source_ips: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.AllowedRegions), &a.AllowedRegions); err != nil {
		return Application{}, fmt.Errorf("application %s: allowed_regions: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.SIPDigestAlgorithms), &a.SIPDigestAlgorithms); err != nil {
		return Application{}, fmt.Errorf("application %s: sip_digest_algorithms: %w", r.ID, err)
	}
	return a, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateApplication stores a new application; its ID and times are set here.
func (s *Store) CreateApplication(ctx context.Context, a Application) (Application, error) {
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	a.CreatedAt, a.UpdatedAt = now, now
	row, err := s.toRow(a)
	if err != nil {
		return Application{}, err
	}
	_, err = s.db.NamedExecContext(ctx, `INSERT INTO voice_applications (`+applicationColumns+`) VALUES (
		:id, :account_id, :name, :call_initiated_callback_url, :call_initiated_method,
		:call_initiated_fallback_url, :call_initiated_fallback_method, :call_status_callback_url,
		:call_status_callback_method, :callback_username, :callback_password_sealed, :inbound_sip_enabled,
		:password_auth_enabled, :sip_ha1_md5, :sip_ha1_sha256, :allowed_source_ips, :allowed_regions, :sip_digest_algorithms,
		:module_id, :module_events, :module_memory_pages, :module_timeout_ms, :max_concurrent_calls, :created_at, :updated_at)`, row)
	if err != nil {
		if isForeignKeyViolation(err) {
			return Application{}, fmt.Errorf("create application: account %s: %w", a.AccountID, ErrNotFound)
		}
		return Application{}, fmt.Errorf("create application: %w", err)
	}
	return a, nil
}

// UpdateApplication writes every field of a (an application read, changed and
// validated by the caller).
func (s *Store) UpdateApplication(ctx context.Context, a Application) (Application, error) {
	a.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	row, err := s.toRow(a)
	if err != nil {
		return Application{}, err
	}
	defer s.apps.invalidate(a.ID) // after the write: a read racing it must not keep the old row
	res, err := s.db.NamedExecContext(ctx, `UPDATE voice_applications SET
		name = :name, call_initiated_callback_url = :call_initiated_callback_url,
		call_initiated_method = :call_initiated_method, call_initiated_fallback_url = :call_initiated_fallback_url,
		call_initiated_fallback_method = :call_initiated_fallback_method,
		call_status_callback_url = :call_status_callback_url, call_status_callback_method = :call_status_callback_method,
		callback_username = :callback_username, callback_password_sealed = :callback_password_sealed,
		inbound_sip_enabled = :inbound_sip_enabled, password_auth_enabled = :password_auth_enabled,
		sip_ha1_md5 = :sip_ha1_md5, sip_ha1_sha256 = :sip_ha1_sha256,
		allowed_source_ips = :allowed_source_ips, allowed_regions = :allowed_regions,
		sip_digest_algorithms = :sip_digest_algorithms,
		module_id = :module_id, module_events = :module_events, module_memory_pages = :module_memory_pages,
		module_timeout_ms = :module_timeout_ms, max_concurrent_calls = :max_concurrent_calls, updated_at = :updated_at
		WHERE id = :id AND account_id = :account_id`, row)
	if err != nil {
		return Application{}, fmt.Errorf("update application %s: %w", a.ID, err)
	}
	if err := mustAffect(res, "application "+a.ID); err != nil {
		return Application{}, err
	}
	return a, nil
}

// Application returns one application of an account.
func (s *Store) Application(ctx context.Context, accountID, id string) (Application, error) {
	var r applicationRow
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+applicationColumns+" FROM voice_applications WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return Application{}, notFound(err, "application "+id)
	}
	return s.fromRow(r)
}

// ApplicationByID returns an application whatever its account; the SIP front
// door uses it, since a Request-URI names the application alone.
// Reads are cached for a few seconds (appcache.go): a call reads its
// application three times.
func (s *Store) ApplicationByID(ctx context.Context, id string) (Application, error) {
	now := time.Now()
	a, ok, gen := s.apps.get(id, now)
	if ok {
		return a, nil
	}
	var r applicationRow
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+applicationColumns+" FROM voice_applications WHERE id = ?"), id)
	if err != nil {
		return Application{}, notFound(err, "application "+id)
	}
	a, err = s.fromRow(r)
	if err != nil {
		return Application{}, err
	}
	s.apps.put(a, gen, now)
	return a, nil
}

// Applications lists an account's applications, oldest first.
func (s *Store) Applications(ctx context.Context, accountID string) ([]Application, error) {
	var rows []applicationRow
	err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+applicationColumns+" FROM voice_applications WHERE account_id = ? ORDER BY created_at, id"), accountID)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	out := make([]Application, 0, len(rows))
	for _, r := range rows {
		a, err := s.fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// DeleteApplication removes an application of an account.
func (s *Store) DeleteApplication(ctx context.Context, accountID, id string) error {
	defer s.apps.invalidate(id)
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM voice_applications WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return fmt.Errorf("delete application %s: %w", id, err)
	}
	return mustAffect(res, "application "+id)
}
