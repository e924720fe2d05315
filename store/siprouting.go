package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// SIP trunking (issue 7): phone numbers attached to SIP configurations for
// inbound and outbound routing, reusable trunks, header mappings. The rules
// of the Bland-style /v1/sip API live here; api maps them to HTTP and server
// reads the routes (InboundSIPRoutes, OutboundSIPRoute) to place and accept calls.

// FeatureSIP is the account feature (entitlement) that unlocks SIP trunking.
const FeatureSIP = "sip"

// Limits of the SIP routing API.
const (
	MaxNumbersPerRequest       = 100
	MaxConfigurationsPerNumber = 10
	minRegisterPasswordLen     = 8
)

// ErrTrunkInUse is returned when deleting a trunk that numbers are still bound to.
var ErrTrunkInUse = fmt.Errorf("trunk has bound numbers: %w", ErrConflict)

// AuthMode is how calls from a customer's side are authorized.
type AuthMode string

// Inbound authorization modes.
const (
	AuthIP       AuthMode = "ip"       // by source address
	AuthRegister AuthMode = "register" // digest against register credentials; the server also registers to the PBX
)

// SIPOptions are the connection options of a configuration or trunk.
type SIPOptions struct {
	Port        int               // 0: from the endpoint URI
	Transport   sipdest.Transport // "": from the endpoint URI
	SecureMedia bool              // SRTP (SDES) on the media
	SIPUsername string            // digest credentials to answer the peer's challenges with
	SIPPassword string            // clear in memory, sealed at rest
}

// RegisterAuth are the register-mode credentials; the password is clear in
// memory and sealed at rest, because the server needs it to register.
type RegisterAuth struct {
	Username string
	Password string
}

// SIPConfiguration is one direction of one phone number's SIP routing,
// optionally bound to a trunk whose settings it inherits.
type SIPConfiguration struct {
	ID          string
	AccountID   string
	PhoneNumber string // E.164, or a DID/extension when trunk-bound
	Direction   headermap.Direction
	TrunkID     string // "" when not bound to a trunk
	SIPEndpoint string // as given; "" when none (inbound forwarding off, or inherited)
	Options     SIPOptions
	AuthMode    AuthMode // inbound only
	Register    RegisterAuth
	// ApplicationID is the voice application that answers calls from the
	// trunk to the number (inbound only); "" when none is set yet.
	ApplicationID string
	Headers       []headermap.Rule
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PBXPassword is the register-mode password the customer configures in
// their PBX, derived from the given one (see DeriveRegisterPassword); "" in ip mode.
func (c SIPConfiguration) PBXPassword() string {
	if c.AuthMode != AuthRegister {
		return ""
	}
	return DeriveRegisterPassword(c.Register.Username, c.Register.Password)
}

// DeriveRegisterPassword derives the password a PBX is configured with from
// the register_auth password sent to the API: the server registers and
// answers challenges with it, so the API password itself never reaches the
// wire, and one derivation serves every number of a request.
func DeriveRegisterPassword(username, password string) string {
	m := hmac.New(sha256.New, []byte(password))
	m.Write([]byte("wasmvoice register v1\x00" + username))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:24]
}

// SIPTrunk holds an endpoint, auth and options once for many numbers.
type SIPTrunk struct {
	ID          string
	AccountID   string
	Name        string
	SIPEndpoint string
	Options     SIPOptions
	AuthMode    AuthMode
	Register    RegisterAuth
	NumberCount int // numbers bound to the trunk (read only)
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PBXPassword is the trunk's derived register password, "" in ip mode.
func (t SIPTrunk) PBXPassword() string {
	if t.AuthMode != AuthRegister {
		return ""
	}
	return DeriveRegisterPassword(t.Register.Username, t.Register.Password)
}

// ---- rules ----

// NormalizePhoneNumber returns the E.164 form of a phone number: formatting
// (spaces, dashes, dots, parentheses) is dropped, 00 becomes +, and ten- or
// eleven-digit North American numbers without + get +1. When the number is
// bound to a trunk, anything not written with + or 00 is a DID or extension
// (a SIP user part) and is kept as given.
func NormalizePhoneNumber(s string, trunkBound bool) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("empty")
	}
	if len(in) > 64 {
		return "", errors.New("longer than 64 characters")
	}
	international := strings.HasPrefix(in, "+") || strings.HasPrefix(in, "00")
	if trunkBound && !international {
		for _, c := range in {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("*#._-", c)) {
				return "", fmt.Errorf("%q: a DID or extension uses digits, letters and * # . _ - only", s)
			}
		}
		return in, nil
	}
	var digits strings.Builder
	for i, c := range in {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			hint := ""
			if !trunkBound {
				hint = " (DIDs and extensions need trunk_id)"
			}
			return "", fmt.Errorf("%q is not an E.164 phone number such as +14150000000%s", s, hint)
		}
	}
	d := digits.String()
	switch {
	case strings.HasPrefix(in, "+"):
	case strings.HasPrefix(in, "00"):
		d = d[2:]
	case len(d) == 10 && d[0] >= '2':
		d = "1" + d
	case len(d) == 11 && d[0] == '1':
	default:
		hint := ""
		if !trunkBound {
			hint = "; DIDs and extensions need trunk_id"
		}
		return "", fmt.Errorf("%q is not an E.164 phone number: write it as + and country code, such as +14150000000%s", s, hint)
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%q is not an E.164 phone number: + then 8 to 15 digits, not starting with 0", s)
	}
	return "+" + d, nil
}

// OptionsPatch changes the options it names.
type OptionsPatch struct {
	Port        *int
	Transport   *string
	SecureMedia *bool
	SIPUsername *string
	SIPPassword *string
}

// RegisterAuthInput is register_auth as sent.
type RegisterAuthInput struct {
	Username string
	Password string
}

// DirectionSpec is one direction object of an attach, or the updates of an
// update: nil fields are not sent.
type DirectionSpec struct {
	Direction        headermap.Direction
	AuthMode         *string
	RegisterAuth     *RegisterAuthInput
	ApplicationID    *string // inbound only; its existence is checked by the store
	SIPEndpoint      *string
	HeadersDirection string // the direction the headers object says, "" when it names none
	Headers          *[]headermap.Rule
	Options          *OptionsPatch
}

// ParseDirection accepts inbound or outbound.
func ParseDirection(field, s string) (headermap.Direction, error) {
	switch d := headermap.Direction(s); d {
	case headermap.Inbound, headermap.Outbound:
		return d, nil
	}
	if s == "" {
		return "", invalid(field, s, "required: inbound or outbound")
	}
	return "", invalid(field, s, "%q: use inbound or outbound", s)
}

func (p *OptionsPatch) apply(o *SIPOptions, prefix string) error {
	if p == nil {
		return nil
	}
	if p.Port != nil {
		if *p.Port < 0 || *p.Port > 65535 {
			return invalid(prefix+".port", *p.Port, "must be from 1 to 65535 (0 or absent: from the endpoint)")
		}
		o.Port = *p.Port
	}
	if p.Transport != nil {
		if *p.Transport == "" {
			o.Transport = ""
		} else {
			t, err := sipdest.ParseTransport(*p.Transport)
			if err != nil {
				return invalid(prefix+".transport", *p.Transport, "use udp, tcp or tls")
			}
			o.Transport = t
		}
	}
	if p.SecureMedia != nil {
		o.SecureMedia = *p.SecureMedia
	}
	if p.SIPUsername != nil {
		if msg := checkSIPUser(*p.SIPUsername); msg != "" {
			return invalid(prefix+".sip_username", *p.SIPUsername, "%s", msg)
		}
		o.SIPUsername = *p.SIPUsername
	}
	if p.SIPPassword != nil {
		if msg := checkSecret(*p.SIPPassword); msg != "" {
			return invalid(prefix+".sip_password", "(hidden)", "%s", msg)
		}
		o.SIPPassword = *p.SIPPassword
	}
	return nil
}

func checkSIPUser(u string) string {
	if len(u) > 128 {
		return "must be at most 128 characters"
	}
	if strings.ContainsAny(u, ":@\" \t\r\n\x00") {
		return "must not contain : @ quotes, spaces or control characters"
	}
	return ""
}

func checkSecret(p string) string {
	if len(p) > 128 {
		return "must be at most 128 characters"
	}
	if strings.ContainsAny(p, "\r\n\x00") {
		return "must not contain CR, LF or NUL"
	}
	return ""
}

func checkEndpoint(field, ep string) (sipdest.Destination, error) {
	d, err := sipdest.Parse(ep)
	if err != nil {
		return sipdest.Destination{}, invalid(field, ep, "%s", strings.TrimPrefix(err.Error(), sipdest.ErrInvalid.Error()+": "))
	}
	return d, nil
}

func applyAuth(mode *string, ra *RegisterAuthInput, cur *AuthMode, reg *RegisterAuth, prefix string) (changed bool, err error) {
	if mode != nil {
		switch m := AuthMode(*mode); m {
		case AuthIP, AuthRegister:
			if m != *cur {
				changed = true
			}
			*cur = m
		case "":
			*cur = AuthIP
		default:
			return false, invalid(prefix+"auth_mode", *mode, "%q: use ip or register", *mode)
		}
	}
	if ra != nil {
		if ra.Username == "" {
			return false, invalid(prefix+"register_auth.username", "", "required")
		}
		if msg := checkSIPUser(ra.Username); msg != "" {
			return false, invalid(prefix+"register_auth.username", ra.Username, "%s", msg)
		}
		if len(ra.Password) < minRegisterPasswordLen {
			return false, invalid(prefix+"register_auth.password", "(hidden)", "must be at least %d characters", minRegisterPasswordLen)
		}
		if msg := checkSecret(ra.Password); msg != "" {
			return false, invalid(prefix+"register_auth.password", "(hidden)", "%s", msg)
		}
		reg.Username, reg.Password = ra.Username, ra.Password
		changed = true
	}
	switch {
	case *cur == AuthRegister && reg.Password == "":
		return false, invalid(prefix+"register_auth", nil, "required when auth_mode is register: {username, password (at least %d characters)}", minRegisterPasswordLen)
	case *cur != AuthRegister && ra != nil:
		return false, invalid(prefix+"register_auth", ra.Username, "only allowed with auth_mode: register")
	case *cur != AuthRegister:
		*reg = RegisterAuth{}
	}
	return changed && *cur == AuthRegister, nil
}

// effectiveEndpoint is the endpoint with options and a trunk's settings applied.
func effectiveEndpoint(ep string, o SIPOptions, t *SIPTrunk) (sipdest.Destination, bool) {
	port, tr := o.Port, o.Transport
	if ep == "" && t != nil {
		ep = t.SIPEndpoint
	}
	if t != nil {
		if port == 0 {
			port = t.Options.Port
		}
		if tr == "" {
			tr = t.Options.Transport
		}
	}
	if ep == "" {
		return sipdest.Destination{}, false
	}
	d, err := sipdest.Parse(ep)
	if err != nil {
		return sipdest.Destination{}, false
	}
	return d.WithOverrides(port, tr), true
}

// checkOptionsState checks rules on the resulting state of options.
func checkOptionsState(o SIPOptions, ep string, t *SIPTrunk, prefix string) error {
	if (o.SIPUsername == "") != (o.SIPPassword == "") {
		if o.SIPUsername == "" {
			return invalid(prefix+"options.sip_username", "", "required when sip_password is set")
		}
		return invalid(prefix+"options.sip_password", "", "required when sip_username is set")
	}
	secure := o.SecureMedia || (t != nil && t.Options.SecureMedia)
	if d, ok := effectiveEndpoint(ep, o, t); ok && secure && d.Transport != sipdest.TLS {
		return invalid(prefix+"options.secure_media", true, "SRTP keys travel in the SDP (SDES), so secure_media needs transport tls (now %s)", d.Transport)
	}
	return nil
}

// Apply changes c by the spec, for a configuration bound to trunk t (nil when
// none); prefix is the spec's JSON location ("directions[0]", "updates").
// It reports whether register credentials were set or switched on (then the
// PBX password is shown), and leaves c untouched on error.
func (sp DirectionSpec) Apply(c *SIPConfiguration, t *SIPTrunk, prefix string) (registerChanged bool, err error) {
	n := *c
	n.Headers = append([]headermap.Rule(nil), c.Headers...)
	p := prefix + "."
	if sp.Direction != n.Direction {
		return false, invalid(p+"type", sp.Direction, "must be %s", n.Direction)
	}
	if n.Direction == headermap.Outbound {
		switch {
		case sp.AuthMode != nil:
			return false, invalid(p+"auth_mode", *sp.AuthMode, "only allowed on the inbound direction")
		case sp.RegisterAuth != nil:
			return false, invalid(p+"register_auth", sp.RegisterAuth.Username, "only allowed on the inbound direction")
		case sp.ApplicationID != nil:
			return false, invalid(p+"application_id", *sp.ApplicationID, "only allowed on the inbound direction")
		}
	} else {
		if sp.ApplicationID != nil {
			n.ApplicationID = strings.TrimSpace(*sp.ApplicationID)
		}
		if n.AuthMode == "" {
			n.AuthMode = AuthIP
		}
		registerChanged, err = applyAuth(sp.AuthMode, sp.RegisterAuth, &n.AuthMode, &n.Register, p)
		if err != nil {
			return false, err
		}
	}
	if sp.SIPEndpoint != nil {
		ep := strings.TrimSpace(*sp.SIPEndpoint)
		if ep != "" {
			if _, err := checkEndpoint(p+"sip_endpoint", ep); err != nil {
				return false, err
			}
		}
		n.SIPEndpoint = ep
	}
	if err := sp.Options.apply(&n.Options, p+"options"); err != nil {
		return false, err
	}
	if sp.Headers != nil {
		if sp.HeadersDirection != "" && headermap.Direction(sp.HeadersDirection) != n.Direction {
			return false, invalid(p+"headers.direction", sp.HeadersDirection, "must be %s (or omitted) in the %s direction", n.Direction, n.Direction)
		}
		if err := headermap.Validate(*sp.Headers, n.Direction); err != nil {
			var re *headermap.RuleError
			if errors.As(err, &re) {
				return false, invalid(re.Path(p+"headers.headers"), nil, "%s", re.Reason)
			}
			return false, invalid(p+"headers", nil, "%s", err.Error())
		}
		n.Headers = append([]headermap.Rule{}, *sp.Headers...)
	}
	if n.Direction == headermap.Outbound && n.SIPEndpoint == "" {
		switch {
		case t == nil:
			return false, invalid(p+"sip_endpoint", "", "required for outbound unless the numbers are bound to a trunk (trunk_id)")
		case t.SIPEndpoint == "":
			return false, invalid(p+"sip_endpoint", "", "required: trunk %s has no sip_endpoint to inherit", t.ID)
		}
	}
	if err := checkOptionsState(n.Options, n.SIPEndpoint, t, p); err != nil {
		return false, err
	}
	*c = n
	return registerChanged, nil
}

// checkSIPApplication refuses an inbound application_id that names no voice
// application of the account ("" clears it and is fine).
func (s *Store) checkSIPApplication(ctx context.Context, accountID, id, prefix string) error {
	if id == "" {
		return nil
	}
	_, err := s.Application(ctx, accountID, id)
	if isNotFound(err) {
		return invalid(prefix+".application_id", id, "no voice application %s in this account", id)
	}
	return err
}

// TrunkPatch changes the trunk fields it names.
type TrunkPatch struct {
	Name         *string
	SIPEndpoint  *string
	AuthMode     *string
	RegisterAuth *RegisterAuthInput
	Options      *OptionsPatch
}

// Apply changes t by p; it reports whether register credentials were set or
// switched on, and leaves t untouched on error.
func (p TrunkPatch) Apply(t *SIPTrunk) (registerChanged bool, err error) {
	n := *t
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if name == "" {
			return false, invalid("name", *p.Name, "must not be empty")
		}
		if len(name) > 256 {
			return false, invalid("name", *p.Name, "must be at most 256 characters")
		}
		n.Name = name
	}
	if n.Name == "" {
		return false, invalid("name", "", "required")
	}
	if n.AuthMode == "" {
		n.AuthMode = AuthIP
	}
	registerChanged, err = applyAuth(p.AuthMode, p.RegisterAuth, &n.AuthMode, &n.Register, "")
	if err != nil {
		return false, err
	}
	if p.SIPEndpoint != nil {
		ep := strings.TrimSpace(*p.SIPEndpoint)
		if ep != "" {
			if _, err := checkEndpoint("sip_endpoint", ep); err != nil {
				return false, err
			}
		}
		n.SIPEndpoint = ep
	}
	if err := p.Options.apply(&n.Options, "options"); err != nil {
		return false, err
	}
	if err := checkOptionsState(n.Options, n.SIPEndpoint, nil, ""); err != nil {
		return false, err
	}
	*t = n
	return registerChanged, nil
}

// ---- rows ----

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

// CreateSIPTrunk stores a new trunk (validated by TrunkPatch.Apply); its ID
// and times are set here.
func (s *Store) CreateSIPTrunk(ctx context.Context, t SIPTrunk) (SIPTrunk, error) {
	t.ID = "trk_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	now := time.Now().UTC().Truncate(time.Millisecond)
	t.CreatedAt, t.UpdatedAt, t.NumberCount = now, now, 0
	if err := s.writeTrunk(ctx, t, true); err != nil {
		return SIPTrunk{}, err
	}
	return t, nil
}

// UpdateSIPTrunk writes every field of t (read, changed and validated by the
// caller). A trunk without sip_endpoint is refused while outbound numbers
// inherit the endpoint from it, so no number is left without a route.
func (s *Store) UpdateSIPTrunk(ctx context.Context, t SIPTrunk) (SIPTrunk, error) {
	t.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if t.SIPEndpoint == "" {
		var n int
		if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE trunk_id = ? AND account_id = ? AND direction = ? AND sip_endpoint = ''"),
			t.ID, t.AccountID, string(headermap.Outbound)); err != nil {
			return SIPTrunk{}, fmt.Errorf("update sip trunk %s: %w", t.ID, err)
		}
		if n > 0 {
			return SIPTrunk{}, invalid("sip_endpoint", "", "%d outbound configurations inherit it; give them their own sip_endpoint or detach them first", n)
		}
	}
	if err := s.writeTrunk(ctx, t, false); err != nil {
		return SIPTrunk{}, err
	}
	return t, nil
}

func (s *Store) writeTrunk(ctx context.Context, t SIPTrunk, create bool) error {
	sp, err := s.sealer.seal(t.Options.SIPPassword)
	if err != nil {
		return err
	}
	rp, err := s.sealer.seal(t.Register.Password)
	if err != nil {
		return err
	}
	if create {
		_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO sip_trunks (id, account_id, name, sip_endpoint, port, transport,
			secure_media, sip_username, sip_password_sealed, auth_mode, register_username, register_password_sealed,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.AccountID, t.Name, t.SIPEndpoint, t.Options.Port, string(t.Options.Transport), t.Options.SecureMedia,
			t.Options.SIPUsername, sp, string(t.AuthMode), t.Register.Username, rp, t.CreatedAt, t.UpdatedAt)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("create sip trunk: account %s: %w", t.AccountID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create sip trunk: %w", err)
		}
		return nil
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sip_trunks SET name = ?, sip_endpoint = ?, port = ?, transport = ?,
		secure_media = ?, sip_username = ?, sip_password_sealed = ?, auth_mode = ?, register_username = ?,
		register_password_sealed = ?, updated_at = ? WHERE id = ? AND account_id = ?`),
		t.Name, t.SIPEndpoint, t.Options.Port, string(t.Options.Transport), t.Options.SecureMedia, t.Options.SIPUsername, sp,
		string(t.AuthMode), t.Register.Username, rp, t.UpdatedAt, t.ID, t.AccountID)
	if err != nil {
		return fmt.Errorf("update sip trunk %s: %w", t.ID, err)
	}
	return mustAffect(res, "sip trunk "+t.ID)
}

// SIPTrunk returns one trunk of an account.
func (s *Store) SIPTrunk(ctx context.Context, accountID, id string) (SIPTrunk, error) {
	var r sipTrunkRow
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+sipTrunkColumns+" FROM sip_trunks t WHERE t.id = ? AND t.account_id = ?"), id, accountID)
	if err != nil {
		return SIPTrunk{}, notFound(err, "sip trunk "+id)
	}
	return s.trunkFromRow(r)
}

// SIPTrunks lists an account's trunks, oldest first.
func (s *Store) SIPTrunks(ctx context.Context, accountID string) ([]SIPTrunk, error) {
	var rows []sipTrunkRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipTrunkColumns+" FROM sip_trunks t WHERE t.account_id = ? ORDER BY t.created_at, t.id"), accountID); err != nil {
		return nil, fmt.Errorf("list sip trunks: %w", err)
	}
	out := make([]SIPTrunk, 0, len(rows))
	for _, r := range rows {
		t, err := s.trunkFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// DeleteSIPTrunk removes a trunk; while numbers are bound to it the answer is
// ErrTrunkInUse (detach them first), so no number silently loses its route.
func (s *Store) DeleteSIPTrunk(ctx context.Context, accountID, id string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(DISTINCT phone_number) FROM sip_configurations WHERE trunk_id = ? AND account_id = ?"), id, accountID); err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	if n > 0 {
		return fmt.Errorf("delete sip trunk %s: %d numbers are bound to it: %w", id, n, ErrTrunkInUse)
	}
	res, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sip_trunks WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	if err := mustAffect(res, "sip trunk "+id); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	return nil
}

// ---- attach, update, detach ----

// AttachRequest attaches SIP configurations to numbers.
type AttachRequest struct {
	AccountID    string
	Numbers      []string // as sent
	NumbersField string   // "phone_number" or "phone_numbers", for error locations
	TrunkID      string
	Directions   []DirectionSpec
}

// NumberFailure is a number that was not configured, and why.
type NumberFailure struct {
	PhoneNumber string
	Reason      string
}

// AttachResult separates configured numbers from failed ones.
type AttachResult struct {
	Configured  []string // normalized
	Failed      []NumberFailure
	PBXPassword string // derived register password, when an inbound direction uses register auth
}

// numberRejected marks a per-number failure (reported, not returned).
type numberRejected struct{ reason string }

func (e *numberRejected) Error() string { return e.reason }

// AttachSIP validates the request (a *ValidationError for anything wrong
// with the payload as a whole) and then configures each number in its own
// transaction: a number either gets every direction or none, and its failure
// (bad number, 10 configurations already, inbound owned by another account)
// is reported without stopping the others.
func (s *Store) AttachSIP(ctx context.Context, req AttachRequest) (AttachResult, error) {
	if len(req.Numbers) == 0 {
		return AttachResult{}, invalid(req.NumbersField, nil, "required: phone_number or phone_numbers")
	}
	if len(req.Numbers) > MaxNumbersPerRequest {
		return AttachResult{}, invalid(req.NumbersField, len(req.Numbers), "at most %d numbers per request, got %d", MaxNumbersPerRequest, len(req.Numbers))
	}
	var trunk *SIPTrunk
	if req.TrunkID != "" {
		t, err := s.SIPTrunk(ctx, req.AccountID, req.TrunkID)
		if isNotFound(err) {
			return AttachResult{}, invalid("trunk_id", req.TrunkID, "no trunk %s in this account", req.TrunkID)
		}
		if err != nil {
			return AttachResult{}, err
		}
		trunk = &t
	}
	if len(req.Directions) == 0 {
		return AttachResult{}, invalid("directions", nil, "required: at least one of inbound and outbound")
	}
	if len(req.Directions) > 2 {
		return AttachResult{}, invalid("directions", len(req.Directions), "at most two entries (inbound and outbound)")
	}
	templates := make([]SIPConfiguration, 0, len(req.Directions))
	var res AttachResult
	for i, sp := range req.Directions {
		prefix := fmt.Sprintf("directions[%d]", i)
		if _, err := ParseDirection(prefix+".type", string(sp.Direction)); err != nil {
			return AttachResult{}, err
		}
		for _, t := range templates {
			if t.Direction == sp.Direction {
				return AttachResult{}, invalid(prefix+".type", sp.Direction, "%s is listed twice", sp.Direction)
			}
		}
		c := SIPConfiguration{AccountID: req.AccountID, Direction: sp.Direction, TrunkID: req.TrunkID}
		if _, err := sp.Apply(&c, trunk, prefix); err != nil {
			return AttachResult{}, err
		}
		if err := s.checkSIPApplication(ctx, req.AccountID, c.ApplicationID, prefix); err != nil {
			return AttachResult{}, err
		}
		if pw := c.PBXPassword(); pw != "" {
			res.PBXPassword = pw
		}
		templates = append(templates, c)
	}
	res.Configured, res.Failed = []string{}, []NumberFailure{}
	seen := make(map[string]bool, len(req.Numbers))
	for i, raw := range req.Numbers {
		num, err := NormalizePhoneNumber(raw, trunk != nil)
		if err != nil {
			if len(req.Numbers) == 1 && req.NumbersField == "phone_number" {
				return AttachResult{}, invalid("phone_number", raw, "%s", err.Error())
			}
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: fmt.Sprintf("phone_numbers[%d]: %s", i, err)})
			continue
		}
		if seen[num] {
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: fmt.Sprintf("phone_numbers[%d]: %s is listed twice", i, num)})
			continue
		}
		seen[num] = true
		err = s.attachNumber(ctx, req.AccountID, num, templates)
		var nr *numberRejected
		switch {
		case errors.As(err, &nr):
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: num, Reason: nr.reason})
		case err != nil:
			return AttachResult{}, err
		default:
			res.Configured = append(res.Configured, num)
		}
	}
	if len(res.Configured) == 0 {
		res.PBXPassword = ""
	}
	return res, nil
}

func (s *Store) attachNumber(ctx context.Context, accountID, number string, templates []SIPConfiguration) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	defer tx.Rollback()
	var existing []sipConfigRow
	if err := tx.SelectContext(ctx, &existing, s.rebind("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, number); err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	count := len(existing)
	for _, tpl := range templates {
		c := tpl
		c.PhoneNumber = number
		c.CreatedAt, c.UpdatedAt = now, now
		c.ID = ""
		for _, e := range existing {
			if e.Direction == string(c.Direction) && e.RouteKey == c.TrunkID {
				c.ID, c.CreatedAt = e.ID, e.CreatedAt.UTC()
			}
		}
		if c.ID == "" {
			count++
			if count > MaxConfigurationsPerNumber {
				return &numberRejected{fmt.Sprintf("%s already has %d SIP configurations; at most %d are allowed per number", number, len(existing), MaxConfigurationsPerNumber)}
			}
			c.ID = uuid.NewString()
		}
		if c.Direction == headermap.Inbound && c.TrunkID == "" {
			// Without a trunk, the number alone routes an inbound call, so it
			// must lead to one account only.
			var other int
			if err := tx.GetContext(ctx, &other, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE phone_number = ? AND direction = ? AND route_key = '' AND account_id <> ?"),
				number, string(headermap.Inbound), accountID); err != nil {
				return fmt.Errorf("attach %s: %w", number, err)
			}
			if other > 0 {
				return &numberRejected{fmt.Sprintf("%s is attached for inbound SIP by another account", number)}
			}
		}
		row, err := s.configToRow(c)
		if err != nil {
			return err
		}
		if _, err := tx.NamedExecContext(ctx, "DELETE FROM sip_configurations WHERE id = :id", row); err != nil {
			return fmt.Errorf("attach %s: %w", number, err)
		}
		if _, err := tx.NamedExecContext(ctx, `INSERT INTO sip_configurations (`+sipConfigColumns+`) VALUES (
			:id, :account_id, :phone_number, :direction, :trunk_id, :route_key, :sip_endpoint, :port, :transport,
			:secure_media, :sip_username, :sip_password_sealed, :auth_mode, :register_username, :register_password_sealed,
			:application_id, :headers, :created_at, :updated_at)`, row); err != nil {
			if isForeignKeyViolation(err) {
				return &numberRejected{fmt.Sprintf("trunk %s no longer exists", c.TrunkID)}
			}
			return fmt.Errorf("attach %s: %w", number, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	return nil
}

// ResolveSIPNumber finds how an account stored a number it names: as E.164
// (so "(415) 555-0100" finds +14155550100) or, failing that, as a trunk DID
// or extension written as is. A number attached in neither form comes back
// in its E.164 form when it has one, so lookups then miss cleanly.
func (s *Store) ResolveSIPNumber(ctx context.Context, accountID, raw string) (string, error) {
	e164, errE := NormalizePhoneNumber(raw, false)
	did, errD := NormalizePhoneNumber(raw, true)
	if errE != nil && errD != nil {
		return "", invalid("phone_number", raw, "%s", errE.Error())
	}
	if errE != nil || errD != nil || e164 == did {
		if errE == nil {
			return e164, nil
		}
		return did, nil
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, e164); err != nil {
		return "", fmt.Errorf("resolve number %s: %w", raw, err)
	}
	if n > 0 {
		return e164, nil
	}
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, did); err != nil {
		return "", fmt.Errorf("resolve number %s: %w", raw, err)
	}
	if n > 0 {
		return did, nil
	}
	return e164, nil
}

// SIPConfigurations returns every configuration of an account's number.
func (s *Store) SIPConfigurations(ctx context.Context, accountID, number string) ([]SIPConfiguration, error) {
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE account_id = ? AND phone_number = ? ORDER BY direction, updated_at DESC, id"), accountID, number); err != nil {
		return nil, fmt.Errorf("sip configurations of %s: %w", number, err)
	}
	return s.configsFromRows(rows)
}

// PickSIPConfiguration chooses the configuration of one direction among a
// number's: the one bound to trunkID when given; else the one without a
// trunk; else, when strict is false, the most recently updated. ok is false
// when none fits; ambiguous reports several trunk-bound candidates under strict.
func PickSIPConfiguration(cs []SIPConfiguration, dir headermap.Direction, trunkID string, strict bool) (c SIPConfiguration, ok, ambiguous bool) {
	var cands []SIPConfiguration
	for _, x := range cs {
		if x.Direction != dir {
			continue
		}
		if trunkID != "" {
			if x.TrunkID == trunkID {
				return x, true, false
			}
			continue
		}
		if x.TrunkID == "" {
			return x, true, false
		}
		cands = append(cands, x)
	}
	switch {
	case len(cands) == 0:
		return SIPConfiguration{}, false, false
	case len(cands) > 1 && strict:
		return SIPConfiguration{}, false, true
	}
	best := cands[0]
	for _, x := range cands[1:] {
		if x.UpdatedAt.After(best.UpdatedAt) {
			best = x
		}
	}
	return best, true, false
}

// UpdateSIP changes one direction of a number (partially: fields not sent
// stay). trunkID picks among several configurations of that direction.
func (s *Store) UpdateSIP(ctx context.Context, accountID, rawNumber, trunkID string, sp DirectionSpec) (SIPConfiguration, bool, error) {
	if _, err := ParseDirection("updates.type", string(sp.Direction)); err != nil {
		return SIPConfiguration{}, false, err
	}
	number, err := s.ResolveSIPNumber(ctx, accountID, rawNumber)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	cs, err := s.SIPConfigurations(ctx, accountID, number)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	c, ok, ambiguous := PickSIPConfiguration(cs, sp.Direction, trunkID, true)
	if ambiguous {
		return SIPConfiguration{}, false, invalid("trunk_id", "", "%s has several %s configurations on different trunks; name one with trunk_id", number, sp.Direction)
	}
	if !ok {
		return SIPConfiguration{}, false, fmt.Errorf("%s configuration of %s: %w", sp.Direction, number, ErrNotFound)
	}
	var trunk *SIPTrunk
	if c.TrunkID != "" {
		t, err := s.SIPTrunk(ctx, accountID, c.TrunkID)
		if err != nil {
			return SIPConfiguration{}, false, err
		}
		trunk = &t
	}
	regChanged, err := sp.Apply(&c, trunk, "updates")
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	if sp.ApplicationID != nil {
		if err := s.checkSIPApplication(ctx, accountID, c.ApplicationID, "updates"); err != nil {
			return SIPConfiguration{}, false, err
		}
	}
	c.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	row, err := s.configToRow(c)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	res, err := s.db.NamedExecContext(ctx, `UPDATE sip_configurations SET sip_endpoint = :sip_endpoint, port = :port,
		transport = :transport, secure_media = :secure_media, sip_username = :sip_username,
		sip_password_sealed = :sip_password_sealed, auth_mode = :auth_mode, register_username = :register_username,
		register_password_sealed = :register_password_sealed, application_id = :application_id, headers = :headers, updated_at = :updated_at
		WHERE id = :id AND account_id = :account_id`, row)
	if err != nil {
		return SIPConfiguration{}, false, fmt.Errorf("update sip configuration %s: %w", c.ID, err)
	}
	if err := mustAffect(res, "sip configuration "+c.ID); err != nil {
		return SIPConfiguration{}, false, err
	}
	return c, regChanged, nil
}

// DetachResult separates detached numbers from failed ones.
type DetachResult struct {
	Detached []string
	Failed   []NumberFailure
}

// DetachSIP removes the named directions of numbers: all their
// configurations in those directions, or only those bound to trunkID.
func (s *Store) DetachSIP(ctx context.Context, accountID string, numbers []string, numbersField, trunkID string, dirs []headermap.Direction) (DetachResult, error) {
	if len(numbers) == 0 {
		return DetachResult{}, invalid(numbersField, nil, "required: phone_number or phone_numbers")
	}
	if len(numbers) > MaxNumbersPerRequest {
		return DetachResult{}, invalid(numbersField, len(numbers), "at most %d numbers per request, got %d", MaxNumbersPerRequest, len(numbers))
	}
	if len(dirs) == 0 {
		return DetachResult{}, invalid("directions", nil, "required: inbound and/or outbound")
	}
	res := DetachResult{Detached: []string{}, Failed: []NumberFailure{}}
	for _, raw := range numbers {
		num, err := s.ResolveSIPNumber(ctx, accountID, raw)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve) && numbersField == "phone_number":
			return DetachResult{}, err
		case errors.As(err, &ve):
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: ve.Reason})
			continue
		case err != nil:
			return DetachResult{}, err
		}
		q, args, err := sqlx.In("DELETE FROM sip_configurations WHERE account_id = ? AND phone_number = ? AND direction IN (?)", accountID, num, dirs)
		if err != nil {
			return DetachResult{}, fmt.Errorf("detach %s: %w", num, err)
		}
		if trunkID != "" {
			q += " AND route_key = ?"
			args = append(args, trunkID)
		}
		r, err := s.db.ExecContext(ctx, s.rebind(q), args...)
		if err != nil {
			return DetachResult{}, fmt.Errorf("detach %s: %w", num, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			reason := "no SIP configuration in the given directions"
			if trunkID != "" {
				reason += " on trunk " + trunkID
			}
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: num, Reason: reason})
			continue
		}
		res.Detached = append(res.Detached, num)
	}
	return res, nil
}

// SIPNumber is a number and its configurations.
type SIPNumber struct {
	PhoneNumber    string
	Configurations []SIPConfiguration
}

// SIPNumberPage is one page of an account's numbers, in number order.
type SIPNumberPage struct {
	Numbers []SIPNumber
	Total   int    // numbers in the account (under the trunk filter)
	Next    string // cursor of the next page, "" on the last
}

// SIPNumbers pages through an account's numbers with SIP configurations
// (optionally only those bound to trunkID), limit numbers after the cursor.
func (s *Store) SIPNumbers(ctx context.Context, accountID, trunkID, after string, limit int) (SIPNumberPage, error) {
	where, args := "account_id = ?", []any{accountID}
	if trunkID != "" {
		where += " AND route_key = ?"
		args = append(args, trunkID)
	}
	var page SIPNumberPage
	if err := s.db.GetContext(ctx, &page.Total, s.rebind("SELECT COUNT(DISTINCT phone_number) FROM sip_configurations WHERE "+where), args...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("count sip numbers: %w", err)
	}
	var nums []string
	if err := s.db.SelectContext(ctx, &nums, s.rebind("SELECT DISTINCT phone_number FROM sip_configurations WHERE "+where+" AND phone_number > ? ORDER BY phone_number LIMIT ?"),
		append(args, after, limit+1)...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	if len(nums) > limit {
		nums = nums[:limit]
		page.Next = nums[limit-1]
	}
	page.Numbers = make([]SIPNumber, 0, len(nums))
	if len(nums) == 0 {
		return page, nil
	}
	q, qargs, err := sqlx.In("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE "+where+" AND phone_number IN (?) ORDER BY phone_number, direction, updated_at DESC, id", append(args, nums)...)
	if err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), qargs...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return SIPNumberPage{}, err
	}
	for _, c := range cs {
		if n := len(page.Numbers); n == 0 || page.Numbers[n-1].PhoneNumber != c.PhoneNumber {
			page.Numbers = append(page.Numbers, SIPNumber{PhoneNumber: c.PhoneNumber})
		}
		last := &page.Numbers[len(page.Numbers)-1]
		last.Configurations = append(last.Configurations, c)
	}
	return page, nil
}

// ---- routes for the call engine ----

// SIPRoute is a configuration with its trunk's settings merged in: what the
// call engine needs to accept or place a call for the number.
type SIPRoute struct {
	Configuration SIPConfiguration
	Trunk         *SIPTrunk // nil when not trunk-bound
	// Destination is the peer (outbound) or forwarding target (inbound), with
	// options overriding the URI; HasDestination is false when there is none.
	Destination    sipdest.Destination
	HasDestination bool
	SecureMedia    bool
	Username       string // digest credentials to answer the peer's 401/407 with
	Password       string
	AuthMode       AuthMode // inbound: how INVITEs are authorized
	Register       RegisterAuth
	PBXPassword    string // register mode: the password the PBX holds (and the server registers with)
	ApplicationID  string // inbound: the voice application that answers, "" when none
	Headers        []headermap.Rule
}

// ResolveSIPRoute merges a configuration with its trunk (nil when none).
func ResolveSIPRoute(c SIPConfiguration, t *SIPTrunk) SIPRoute {
	r := SIPRoute{Configuration: c, Trunk: t, Headers: c.Headers, AuthMode: c.AuthMode, Register: c.Register, ApplicationID: c.ApplicationID,
		SecureMedia: c.Options.SecureMedia, Username: c.Options.SIPUsername, Password: c.Options.SIPPassword}
	r.Destination, r.HasDestination = effectiveEndpoint(c.SIPEndpoint, c.Options, t)
	if t != nil {
		r.SecureMedia = r.SecureMedia || t.Options.SecureMedia
		if r.Username == "" {
			r.Username, r.Password = t.Options.SIPUsername, t.Options.SIPPassword
		}
		if c.AuthMode != AuthRegister {
			r.AuthMode, r.Register = t.AuthMode, t.Register
		}
	}
	if r.AuthMode == "" {
		r.AuthMode = AuthIP
	}
	if r.AuthMode == AuthRegister {
		r.PBXPassword = DeriveRegisterPassword(r.Register.Username, r.Register.Password)
	}
	return r
}

func (s *Store) resolveAll(ctx context.Context, cs []SIPConfiguration) ([]SIPRoute, error) {
	trunks := map[string]*SIPTrunk{}
	out := make([]SIPRoute, 0, len(cs))
	for _, c := range cs {
		var t *SIPTrunk
		if c.TrunkID != "" {
			if t = trunks[c.TrunkID]; t == nil {
				tr, err := s.SIPTrunk(ctx, c.AccountID, c.TrunkID)
				if err != nil {
					return nil, err
				}
				t = &tr
				trunks[c.TrunkID] = t
			}
		}
		out = append(out, ResolveSIPRoute(c, t))
	}
	return out, nil
}

// InboundSIPRoutes returns every inbound route of a number across accounts.
// userPart is the Request-URI user part of an INVITE from a trunk; it is
// looked up as given and in its E.164 form (trunks send 14150000000 as often
// as +14150000000). The caller picks the route whose trunk, source address or
// credentials match the request.
func (s *Store) InboundSIPRoutes(ctx context.Context, userPart string) ([]SIPRoute, error) {
	cands := []string{userPart}
	if e, err := NormalizePhoneNumber(userPart, false); err == nil && e != userPart {
		cands = append(cands, e)
	}
	q, args, err := sqlx.In("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE phone_number IN (?) AND direction = ? ORDER BY route_key, id",
		cands, string(headermap.Inbound))
	if err != nil {
		return nil, fmt.Errorf("inbound routes of %s: %w", userPart, err)
	}
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("inbound routes of %s: %w", userPart, err)
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return nil, err
	}
	return s.resolveAll(ctx, cs)
}

// OutboundSIPRoute returns the route an account's call to (or from) number
// takes: its configuration without a trunk, else its most recently updated
// trunk-bound one. ErrNotFound when the number has no outbound configuration.
func (s *Store) OutboundSIPRoute(ctx context.Context, accountID, number string) (SIPRoute, error) {
	cs, err := s.SIPConfigurations(ctx, accountID, number)
	if err != nil {
		return SIPRoute{}, err
	}
	c, ok, _ := PickSIPConfiguration(cs, headermap.Outbound, "", false)
	if !ok {
		return SIPRoute{}, fmt.Errorf("outbound route of %s: %w", number, ErrNotFound)
	}
	rs, err := s.resolveAll(ctx, []SIPConfiguration{c})
	if err != nil {
		return SIPRoute{}, err
	}
	return rs[0], nil
}

// RegistrationSIPRoutes returns every inbound route on the node whose
// effective auth mode is register (its own, or its trunk's): the REGISTER
// client registers each to its Destination with Register.Username and
// PBXPassword. Routes without a destination are left out (nowhere to register).
func (s *Store) RegistrationSIPRoutes(ctx context.Context) ([]SIPRoute, error) {
	var rows []sipConfigRow
	err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipConfigColumns+` FROM sip_configurations
		WHERE direction = ? AND (auth_mode = ? OR trunk_id IN (SELECT id FROM sip_trunks WHERE auth_mode = ?))
		ORDER BY account_id, phone_number, route_key`),
		string(headermap.Inbound), string(AuthRegister), string(AuthRegister))
	if err != nil {
		return nil, fmt.Errorf("registration routes: %w", err)
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return nil, err
	}
	rs, err := s.resolveAll(ctx, cs)
	if err != nil {
		return nil, err
	}
	out := rs[:0]
	for _, r := range rs {
		if r.AuthMode == AuthRegister && r.HasDestination {
			out = append(out, r)
		}
	}
	return out, nil
}
