package store

import (
	"context"
	"errors"
	"strings"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
)

// Validation of the /v1/sip requests: patches of a configuration or trunk,
// applied only when the result is consistent.

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
