package api

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/store"
)

// The request and response bodies of the /v1/sip routes.

// SIPEnvelope is the response shape of the /v1/sip routes.
type SIPEnvelope[T any] struct {
	Data   T        `json:"data"`
	Errors []string `json:"errors" nullable:"true" doc:"null on success; errors are RFC 9457 problem responses."`
}

func sipEnvelope[T any](data T) SIPEnvelope[T] { return SIPEnvelope[T]{Data: data} }

// SIPOptionsInput are connection options; absent fields stay as they are on update.
type SIPOptionsInput struct {
	Port        *int    `json:"port,omitempty" minimum:"1" maximum:"65535" example:"5061" doc:"Overrides the port of sip_endpoint."`
	Transport   *string `json:"transport,omitempty" enum:"udp,tcp,tls" doc:"Overrides the transport of sip_endpoint."`
	SecureMedia *bool   `json:"secure_media,omitempty" doc:"SRTP (SDES) media; needs transport tls."`
	SIPUsername *string `json:"sip_username,omitempty" maxLength:"128" doc:"Digest user name to answer the peer's 401/407 challenges with."`
	SIPPassword *string `json:"sip_password,omitempty" maxLength:"128" writeOnly:"true" doc:"Digest password; never returned."`
}

func (o *SIPOptionsInput) patch() *store.OptionsPatch {
	if o == nil {
		return nil
	}
	return &store.OptionsPatch{Port: o.Port, Transport: o.Transport, SecureMedia: o.SecureMedia, SIPUsername: o.SIPUsername, SIPPassword: o.SIPPassword}
}

// RegisterAuthInput are register-mode credentials.
type RegisterAuthInput struct {
	Username string `json:"username" maxLength:"128" example:"pbx-acme"`
	Password string `json:"password" minLength:"8" maxLength:"128" writeOnly:"true" doc:"At least 8 characters; the PBX is configured with the derived register_password_for_pbx."`
}

// HeaderMappings are a direction's header mapping rules. Requests may also
// send the rule array alone.
type HeaderMappings struct {
	Direction string           `json:"direction,omitempty" enum:"inbound,outbound" doc:"Must match the direction it sits in, when sent."`
	Headers   []headermap.Rule `json:"headers" maxItems:"50"`
}

// UnmarshalJSON accepts {"direction": …, "headers": [...]} or [...], and
// refuses unknown fields like the rest of the body.
func (h *HeaderMappings) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		h.Direction = ""
		return strictUnmarshal(t, &h.Headers)
	}
	type plain HeaderMappings
	var p plain
	if err := strictUnmarshal(b, &p); err != nil {
		return err
	}
	*h = HeaderMappings(p)
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// SIPDirectionInput is one direction object (attach) or the updates (update).
type SIPDirectionInput struct {
	Type         string             `json:"type" enum:"inbound,outbound"`
	AuthMode     *string            `json:"auth_mode,omitempty" enum:"ip,register" doc:"Inbound only: ip (default) or register."`
	RegisterAuth *RegisterAuthInput `json:"register_auth,omitempty" doc:"Inbound only; required with auth_mode register."`
	// ApplicationID is where an inbound call from the trunk goes: the
	// wasmvoice counterpart of a Bland number's agent.
	ApplicationID *string          `json:"application_id,omitempty" maxLength:"64" doc:"Inbound only: the voice application that answers calls from the trunk to the number (an INVITE to sip:<number>@<sip domain>); empty string clears it. Without one, such calls are refused with 404."`
	SIPEndpoint   *string          `json:"sip_endpoint,omitempty" maxLength:"512" example:"sip:trunk.provider.com" doc:"Outbound: the provider (required unless bound to a trunk). Inbound: the trunk or PBX the calls come from (auth_mode ip accepts INVITEs from its addresses) and that register mode registers to."`
	Headers       *HeaderMappings  `json:"headers,omitempty"`
	Options       *SIPOptionsInput `json:"options,omitempty"`
}

func (d SIPDirectionInput) spec(prefix string) (store.DirectionSpec, error) {
	dir, err := store.ParseDirection(prefix+".type", d.Type)
	if err != nil {
		return store.DirectionSpec{}, err
	}
	sp := store.DirectionSpec{Direction: dir, AuthMode: d.AuthMode, ApplicationID: d.ApplicationID, SIPEndpoint: d.SIPEndpoint, Options: d.Options.patch()}
	if d.RegisterAuth != nil {
		sp.RegisterAuth = &store.RegisterAuthInput{Username: d.RegisterAuth.Username, Password: d.RegisterAuth.Password}
	}
	if d.Headers != nil {
		rules := d.Headers.Headers
		if rules == nil {
			rules = []headermap.Rule{}
		}
		sp.HeadersDirection, sp.Headers = d.Headers.Direction, &rules
	}
	return sp, nil
}

// SIPAttachRequest attaches SIP configurations to numbers.
type SIPAttachRequest struct {
	PhoneNumber  *string             `json:"phone_number,omitempty" example:"+14150000000" doc:"One number; use phone_number or phone_numbers, not both."`
	PhoneNumbers []string            `json:"phone_numbers,omitempty" maxItems:"100" doc:"Up to 100 numbers; E.164, or DIDs and extensions when trunk_id is set."`
	Directions   []SIPDirectionInput `json:"directions" minItems:"1" maxItems:"2"`
	Service      string              `json:"service" enum:"sip"`
	TrunkID      *string             `json:"trunk_id,omitempty" doc:"Bind the numbers to a trunk; they inherit its endpoint, auth and options."`
}

// SIPFailure is a number that was not configured, and why.
type SIPFailure struct {
	PhoneNumber string `json:"phone_number"`
	Reason      string `json:"reason"`
}

// SIPAttachResult separates configured numbers from failed ones.
type SIPAttachResult struct {
	Configured             []string     `json:"configured" example:"[\"+14150000000\"]"`
	Failed                 []SIPFailure `json:"failed"`
	RegisterPasswordForPBX string       `json:"register_password_for_pbx,omitempty" doc:"With inbound auth_mode register: the derived password to configure in your PBX."`
}

// SIPUpdateRequest changes one direction of a number.
type SIPUpdateRequest struct {
	PhoneNumber string            `json:"phone_number" example:"+14150000000"`
	Updates     SIPDirectionInput `json:"updates"`
	TrunkID     *string           `json:"trunk_id,omitempty" doc:"Which configuration, when the number has several of this direction on different trunks."`
}

// SIPDetachRequest removes directions of numbers.
type SIPDetachRequest struct {
	PhoneNumber  *string  `json:"phone_number,omitempty" example:"+14150000000"`
	PhoneNumbers []string `json:"phone_numbers,omitempty" maxItems:"100"`
	Directions   []string `json:"directions" minItems:"1" maxItems:"2" example:"[\"inbound\"]"`
	Service      *string  `json:"service,omitempty" enum:"sip"`
	TrunkID      *string  `json:"trunk_id,omitempty" doc:"Remove only the configurations bound to this trunk."`
}

// SIPDetachResult separates detached numbers from failed ones.
type SIPDetachResult struct {
	Detached []string     `json:"detached" example:"[\"+14150000000\"]"`
	Failed   []SIPFailure `json:"failed"`
}

// SIPOptionsView are connection options as shown; secrets are redacted.
type SIPOptionsView struct {
	AuthMode         string `json:"auth_mode,omitempty" enum:"ip,register" doc:"Inbound only."`
	RegisterUsername string `json:"register_username,omitempty"`
	Port             int    `json:"port,omitempty"`
	Transport        string `json:"transport,omitempty" enum:"udp,tcp,tls"`
	SecureMedia      bool   `json:"secure_media"`
	SIPUsername      string `json:"sip_username,omitempty"`
	HasSIPPassword   bool   `json:"has_sip_password" doc:"Whether a sip_password is set (it is never returned)."`
}

func optionsView(o store.SIPOptions) SIPOptionsView {
	return SIPOptionsView{Port: o.Port, Transport: string(o.Transport), SecureMedia: o.SecureMedia, SIPUsername: o.SIPUsername, HasSIPPassword: o.SIPPassword != ""}
}

// SIPConfigurationView is one direction of a number's SIP routing.
type SIPConfigurationView struct {
	Number      string  `json:"number" example:"+14150000000"`
	ID          string  `json:"id"`
	OrgID       string  `json:"org_id" doc:"The account the configuration belongs to."`
	Direction   string  `json:"direction" enum:"inbound,outbound"`
	TrunkID     *string `json:"trunk_id" nullable:"true"`
	SIPEndpoint *string `json:"sip_endpoint" nullable:"true" example:"sip:trunk.provider.com"`
	// ApplicationID is shown on inbound configurations only.
	ApplicationID *string `json:"application_id,omitempty" nullable:"true" doc:"Inbound only: the voice application that answers calls from the trunk; absent when none."`
	// Registration is shown by GET /v1/sip for register-mode inbound configurations.
	Registration *SIPRegistrationView `json:"registration,omitempty" doc:"Inbound, auth_mode register with a sip_endpoint: the node's registration at the PBX (GET /v1/sip only)."`
	Headers      *HeaderMappings      `json:"headers" doc:"null when the direction has no header mappings."`
	Options      SIPOptionsView       `json:"options"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

func configView(c store.SIPConfiguration) *SIPConfigurationView {
	v := &SIPConfigurationView{
		Number: c.PhoneNumber, ID: c.ID, OrgID: c.AccountID, Direction: string(c.Direction),
		Options: optionsView(c.Options), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.TrunkID != "" {
		v.TrunkID = &c.TrunkID
	}
	if c.SIPEndpoint != "" {
		v.SIPEndpoint = &c.SIPEndpoint
	}
	if len(c.Headers) > 0 {
		v.Headers = &HeaderMappings{Direction: string(c.Direction), Headers: c.Headers}
	}
	if c.Direction == headermap.Inbound {
		v.Options.AuthMode = string(c.AuthMode)
		v.Options.RegisterUsername = c.Register.Username
		if c.ApplicationID != "" {
			v.ApplicationID = &c.ApplicationID
		}
	}
	return v
}

// SIPConfigPair is a number's current inbound and outbound configuration.
type SIPConfigPair struct {
	Inbound      *SIPConfigurationView `json:"inbound" doc:"null when not configured."`
	Outbound     *SIPConfigurationView `json:"outbound" doc:"null when not configured."`
	Verification *SIPVerificationView  `json:"verification" doc:"Whether the number is verified (PUT /v1/sip/verify); null when the node does not verify."`
	Config       *SIPAdvancedConfig    `json:"config" doc:"The number's failover, codecs and alerts (PATCH /v1/sip/config): its own sections, else its trunk's; null when the node keeps none."`
}

// SIPUpdateResult is the updated configuration.
type SIPUpdateResult struct {
	SIPConfigurationView
	RegisterPasswordForPBX string `json:"register_password_for_pbx,omitempty" doc:"Returned when switching to or updating registration-based auth."`
}

// SIPNumberSummary is one number of the numbers list.
type SIPNumberSummary struct {
	PhoneNumber    string    `json:"phone_number" example:"+14150000000"`
	Inbound        bool      `json:"inbound"`
	Outbound       bool      `json:"outbound"`
	TrunkIDs       []string  `json:"trunk_ids"`
	Configurations int       `json:"configurations" doc:"How many SIP configurations the number has (at most 10)."`
	UpdatedAt      time.Time `json:"updated_at"`
}

// SIPNumberList is one page of numbers.
type SIPNumberList struct {
	Numbers    []SIPNumberSummary `json:"numbers"`
	Total      int                `json:"total"`
	NextCursor *string            `json:"next_cursor" nullable:"true" doc:"Pass as cursor for the next page; null on the last page."`
}

// ParseDestinationRequest is a destination to parse.
type ParseDestinationRequest struct {
	Destination string `json:"destination" maxLength:"512" example:"sip:user@host.example.com:5061;transport=tls"`
}

// ParsedDestination is where a destination leads.
type ParsedDestination struct {
	Host      string `json:"host" example:"host.example.com"`
	Port      int    `json:"port" example:"5061"`
	Transport string `json:"transport" enum:"udp,tcp,tls"`
	User      string `json:"user,omitempty"`
	URI       string `json:"uri" example:"sip:user@host.example.com:5061;transport=tls" doc:"The destination in canonical SIP URI form."`
}

// SIPTrunkInput creates a trunk (name required) or patches one.
type SIPTrunkInput struct {
	Name         *string            `json:"name,omitempty" maxLength:"256" example:"Carrier A"`
	SIPEndpoint  *string            `json:"sip_endpoint,omitempty" maxLength:"512" example:"sip:trunk.provider.com" doc:"The provider or PBX; bound numbers inherit it for outbound calls, inbound calls from its addresses are accepted in auth_mode ip, and register mode registers to it. Empty string clears it."`
	AuthMode     *string            `json:"auth_mode,omitempty" enum:"ip,register" doc:"How calls from the trunk are authorized: ip (default) or register."`
	RegisterAuth *RegisterAuthInput `json:"register_auth,omitempty"`
	Options      *SIPOptionsInput   `json:"options,omitempty"`
}

func (t SIPTrunkInput) patch() store.TrunkPatch {
	p := store.TrunkPatch{Name: t.Name, SIPEndpoint: t.SIPEndpoint, AuthMode: t.AuthMode, Options: t.Options.patch()}
	if t.RegisterAuth != nil {
		p.RegisterAuth = &store.RegisterAuthInput{Username: t.RegisterAuth.Username, Password: t.RegisterAuth.Password}
	}
	return p
}

// SIPTrunkView is a trunk as shown; secrets are redacted.
type SIPTrunkView struct {
	ID                     string         `json:"id" example:"trk_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
	OrgID                  string         `json:"org_id"`
	Name                   string         `json:"name"`
	SIPEndpoint            *string        `json:"sip_endpoint" nullable:"true"`
	Options                SIPOptionsView `json:"options"`
	NumberCount            int            `json:"number_count" doc:"Numbers bound to the trunk."`
	CreatedAt              time.Time      `json:"created_at"`
	UpdatedAt              time.Time      `json:"updated_at"`
	RegisterPasswordForPBX string         `json:"register_password_for_pbx,omitempty" doc:"Returned when register credentials are set or switched on."`
}

func trunkView(t store.SIPTrunk, showPBX bool) SIPTrunkView {
	v := SIPTrunkView{ID: t.ID, OrgID: t.AccountID, Name: t.Name, Options: optionsView(t.Options), NumberCount: t.NumberCount, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	v.Options.AuthMode, v.Options.RegisterUsername = string(t.AuthMode), t.Register.Username
	if t.SIPEndpoint != "" {
		v.SIPEndpoint = &t.SIPEndpoint
	}
	if showPBX {
		v.RegisterPasswordForPBX = t.PBXPassword()
	}
	return v
}

// rawJSON is the body of a route that decodes its JSON itself.
type rawJSON struct {
	RawBody []byte `contentType:"application/json"`
}

// TrunkPath is the {trunk_id} path parameter.
type TrunkPath struct {
	TrunkID string `path:"trunk_id" maxLength:"64" example:"trk_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
}

type sipOut[T any] struct {
	Body SIPEnvelope[T]
}
