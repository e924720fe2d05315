package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// The SQL rows of configurations and trunks.

type sipConfigRow struct {
	ID                     string    `db:"id"`
	AccountID              string    `db:"account_id"`
	PhoneNumber            string    `db:"phone_number"`
	Direction              string    `db:"direction"`
	TrunkID                *string   `db:"trunk_id"`
	RouteKey               string    `db:"route_key"`
	SIPEndpoint            string    `db:"sip_endpoint"`
	Port                   int       `db:"port"`
	Transport              string    `db:"transport"`
	SecureMedia            bool      `db:"secure_media"`
	SIPUsername            string    `db:"sip_username"`
	SIPPasswordSealed      string    `db:"sip_password_sealed"`
	AuthMode               string    `db:"auth_mode"`
	RegisterUsername       string    `db:"register_username"`
	RegisterPasswordSealed string    `db:"register_password_sealed"`
	ApplicationID          string    `db:"application_id"`
	Headers                string    `db:"headers"`
	CreatedAt              time.Time `db:"created_at"`
	UpdatedAt              time.Time `db:"updated_at"`
}

const sipConfigColumns = `id, account_id, phone_number, direction, trunk_id, route_key, sip_endpoint, port, transport,
	secure_media, sip_username, sip_password_sealed, auth_mode, register_username, register_password_sealed,
	application_id, headers, created_at, updated_at`

func (s *Store) configToRow(c SIPConfiguration) (sipConfigRow, error) {
	sp, err := s.sealer.seal(c.Options.SIPPassword)
	if err != nil {
		return sipConfigRow{}, err
	}
	rp, err := s.sealer.seal(c.Register.Password)
	if err != nil {
		return sipConfigRow{}, err
	}
	h, err := json.Marshal(nonNilRules(c.Headers))
	if err != nil {
		return sipConfigRow{}, fmt.Errorf("encode headers: %w", err)
	}
	r := sipConfigRow{
		ID: c.ID, AccountID: c.AccountID, PhoneNumber: c.PhoneNumber, Direction: string(c.Direction),
		RouteKey: c.TrunkID, SIPEndpoint: c.SIPEndpoint, Port: c.Options.Port, Transport: string(c.Options.Transport),
		SecureMedia: c.Options.SecureMedia, SIPUsername: c.Options.SIPUsername, SIPPasswordSealed: sp,
		AuthMode: string(c.AuthMode), RegisterUsername: c.Register.Username, RegisterPasswordSealed: rp,
		ApplicationID: c.ApplicationID, Headers: string(h), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if r.AuthMode == "" {
		r.AuthMode = string(AuthIP)
	}
	if c.TrunkID != "" {
		r.TrunkID = &c.TrunkID
	}
	return r, nil
}

func (s *Store) configFromRow(r sipConfigRow) (SIPConfiguration, error) {
	sp, err := s.sealer.open(r.SIPPasswordSealed)
	if err != nil {
		return SIPConfiguration{}, fmt.Errorf("sip configuration %s: %w", r.ID, err)
	}
	rp, err := s.sealer.open(r.RegisterPasswordSealed)
	if err != nil {
		return SIPConfiguration{}, fmt.Errorf("sip configuration %s: %w", r.ID, err)
	}
	c := SIPConfiguration{
		ID: r.ID, AccountID: r.AccountID, PhoneNumber: r.PhoneNumber, Direction: headermap.Direction(r.Direction),
		TrunkID: r.RouteKey, SIPEndpoint: r.SIPEndpoint,
		Options:  SIPOptions{Port: r.Port, Transport: sipdest.Transport(r.Transport), SecureMedia: r.SecureMedia, SIPUsername: r.SIPUsername, SIPPassword: sp},
		AuthMode: AuthMode(r.AuthMode), Register: RegisterAuth{Username: r.RegisterUsername, Password: rp},
		ApplicationID: r.ApplicationID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(r.Headers), &c.Headers); err != nil {
		return SIPConfiguration{}, fmt.Errorf("sip configuration %s: headers: %w", r.ID, err)
	}
	return c, nil
}

func (s *Store) configsFromRows(rows []sipConfigRow) ([]SIPConfiguration, error) {
	out := make([]SIPConfiguration, 0, len(rows))
	for _, r := range rows {
		c, err := s.configFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func nonNilRules(r []headermap.Rule) []headermap.Rule {
	if r == nil {
		return []headermap.Rule{}
	}
	return r
}

type sipTrunkRow struct {
	ID                     string    `db:"id"`
	AccountID              string    `db:"account_id"`
	Name                   string    `db:"name"`
	SIPEndpoint            string    `db:"sip_endpoint"`
	Port                   int       `db:"port"`
	Transport              string    `db:"transport"`
	SecureMedia            bool      `db:"secure_media"`
	SIPUsername            string    `db:"sip_username"`
	SIPPasswordSealed      string    `db:"sip_password_sealed"`
	AuthMode               string    `db:"auth_mode"`
	RegisterUsername       string    `db:"register_username"`
	RegisterPasswordSealed string    `db:"register_password_sealed"`
	NumberCount            int       `db:"number_count"`
	CreatedAt              time.Time `db:"created_at"`
	UpdatedAt              time.Time `db:"updated_at"`
}

const sipTrunkColumns = `t.id, t.account_id, t.name, t.sip_endpoint, t.port, t.transport, t.secure_media, t.sip_username,
	t.sip_password_sealed, t.auth_mode, t.register_username, t.register_password_sealed,
	(SELECT COUNT(DISTINCT c.phone_number) FROM sip_configurations c WHERE c.trunk_id = t.id) AS number_count,
	t.created_at, t.updated_at`

func (s *Store) trunkFromRow(r sipTrunkRow) (SIPTrunk, error) {
	sp, err := s.sealer.open(r.SIPPasswordSealed)
	if err != nil {
		return SIPTrunk{}, fmt.Errorf("sip trunk %s: %w", r.ID, err)
	}
	rp, err := s.sealer.open(r.RegisterPasswordSealed)
	if err != nil {
		return SIPTrunk{}, fmt.Errorf("sip trunk %s: %w", r.ID, err)
	}
	return SIPTrunk{
		ID: r.ID, AccountID: r.AccountID, Name: r.Name, SIPEndpoint: r.SIPEndpoint,
		Options:  SIPOptions{Port: r.Port, Transport: sipdest.Transport(r.Transport), SecureMedia: r.SecureMedia, SIPUsername: r.SIPUsername, SIPPassword: sp},
		AuthMode: AuthMode(r.AuthMode), Register: RegisterAuth{Username: r.RegisterUsername, Password: rp},
		NumberCount: r.NumberCount, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

// ---- trunks ----
