package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// The Bland-style SIP trunking API (issue 7): /v1/sip routes with snake_case
// JSON, authenticated by an API key (raw in Authorization) or a bearer token;
// the account comes from the credentials. Every route needs the account
// feature "sip". Request bodies are decoded here rather than by Huma so that
// every invalid payload, including a wrong JSON type or an unknown field, is a
// 400 naming the field, as the Bland API answers; the OpenAPI document still
// describes each body's schema.

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
	Detached []string     `json:"detached"`
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
	Inbound  *SIPConfigurationView `json:"inbound" doc:"null when not configured."`
	Outbound *SIPConfigurationView `json:"outbound" doc:"null when not configured."`
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

func registerSIPRouting(s *Server) {
	tags := []string{"SIP trunking"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}
	mw := huma.Middlewares{s.requireSIPFeature}
	op := func(id, method, path, summary, desc string, extra ...int) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags,
			Security: bearerAPIKey, Errors: append(append([]int{}, errs...), extra...), Middlewares: mw, MaxBodyBytes: 256 << 10,
			// decodeJSON validates bodies, so that every mistake is a 400 naming the field.
			SkipValidateBody: true,
		}
	}

	huma.Register(s.api, op("attachSip", http.MethodPost, "/v1/sip/attach", "Attach SIP configuration to numbers",
		"Attach inbound and/or outbound SIP routing to up to 100 numbers. Each number is configured or fails on its own (with a reason); at most 10 SIP configurations per number."),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPAttachResult], error) {
			var body SIPAttachRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			if body.Service != "sip" {
				return nil, fieldProblem("service", body.Service, `must be "sip"`)
			}
			numbers, field, err := oneOrMany(body.PhoneNumber, body.PhoneNumbers)
			if err != nil {
				return nil, err
			}
			req := store.AttachRequest{AccountID: principal(ctx).AccountID, Numbers: numbers, NumbersField: field}
			if body.TrunkID != nil {
				if *body.TrunkID == "" {
					return nil, fieldProblem("trunk_id", "", "must not be empty (omit it for no trunk)")
				}
				req.TrunkID = *body.TrunkID
			}
			for i, d := range body.Directions {
				sp, err := d.spec(fmt.Sprintf("directions[%d]", i))
				if err != nil {
					return nil, validationProblem(err)
				}
				req.Directions = append(req.Directions, sp)
			}
			res, err := s.cfg.Store.AttachSIP(ctx, req)
			if err != nil {
				return nil, s.sipError(ctx, err)
			}
			out := SIPAttachResult{Configured: res.Configured, Failed: make([]SIPFailure, 0, len(res.Failed)), RegisterPasswordForPBX: res.PBXPassword}
			for _, f := range res.Failed {
				out.Failed = append(out.Failed, SIPFailure{PhoneNumber: f.PhoneNumber, Reason: f.Reason})
			}
			return &sipOut[SIPAttachResult]{Body: sipEnvelope(out)}, nil
		})
	s.bodySchema("/v1/sip/attach", http.MethodPost, reflectType[SIPAttachRequest](), true)

	huma.Register(s.api, op("updateSip", http.MethodPost, "/v1/sip/update", "Update a number's SIP direction",
		"Partial update of one direction (updates.type): fields not sent stay as they are.", http.StatusNotFound),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPUpdateResult], error) {
			var body SIPUpdateRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			if body.PhoneNumber == "" {
				return nil, fieldProblem("phone_number", "", "required")
			}
			sp, err := body.Updates.spec("updates")
			if err != nil {
				return nil, validationProblem(err)
			}
			trunk := ""
			if body.TrunkID != nil {
				trunk = *body.TrunkID
			}
			c, regChanged, err := s.cfg.Store.UpdateSIP(ctx, principal(ctx).AccountID, body.PhoneNumber, trunk, sp)
			if errors.Is(err, store.ErrNotFound) {
				return nil, huma.Error404NotFound(fmt.Sprintf("%s has no %s SIP configuration%s", body.PhoneNumber, sp.Direction, onTrunk(trunk)))
			}
			if err != nil {
				return nil, s.sipError(ctx, err)
			}
			out := SIPUpdateResult{SIPConfigurationView: *configView(c)}
			if regChanged {
				out.RegisterPasswordForPBX = c.PBXPassword()
			}
			return &sipOut[SIPUpdateResult]{Body: sipEnvelope(out)}, nil
		})
	s.bodySchema("/v1/sip/update", http.MethodPost, reflectType[SIPUpdateRequest](), true)

	huma.Register(s.api, op("detachSip", http.MethodPost, "/v1/sip/detach", "Detach SIP configuration from numbers",
		"Removes the named directions (all their configurations, or only those bound to trunk_id)."),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPDetachResult], error) {
			var body SIPDetachRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			if body.Service != nil && *body.Service != "sip" {
				return nil, fieldProblem("service", *body.Service, `must be "sip"`)
			}
			numbers, field, err := oneOrMany(body.PhoneNumber, body.PhoneNumbers)
			if err != nil {
				return nil, err
			}
			var dirs []headermap.Direction
			for i, d := range body.Directions {
				dir, err := store.ParseDirection(fmt.Sprintf("directions[%d]", i), d)
				if err != nil {
					return nil, validationProblem(err)
				}
				dirs = append(dirs, dir)
			}
			if len(dirs) > 2 {
				return nil, fieldProblem("directions", len(dirs), "at most two entries (inbound and outbound)")
			}
			trunk := ""
			if body.TrunkID != nil {
				trunk = *body.TrunkID
			}
			res, err := s.cfg.Store.DetachSIP(ctx, principal(ctx).AccountID, numbers, field, trunk, dirs)
			if err != nil {
				return nil, s.sipError(ctx, err)
			}
			out := SIPDetachResult{Detached: res.Detached, Failed: make([]SIPFailure, 0, len(res.Failed))}
			for _, f := range res.Failed {
				out.Failed = append(out.Failed, SIPFailure{PhoneNumber: f.PhoneNumber, Reason: f.Reason})
			}
			return &sipOut[SIPDetachResult]{Body: sipEnvelope(out)}, nil
		})
	s.bodySchema("/v1/sip/detach", http.MethodPost, reflectType[SIPDetachRequest](), true)

	huma.Register(s.api, op("getSip", http.MethodGet, "/v1/sip", "Get a number's SIP configuration",
		"The number's inbound and outbound configuration, each null when not configured. With several configurations of a direction (on different trunks), trunk_id picks one; otherwise the one without a trunk, else the most recently updated."),
		func(ctx context.Context, in *struct {
			PhoneNumber string `query:"phone_number" example:"+14150000000" doc:"Required."`
			TrunkID     string `query:"trunk_id"`
		}) (*sipOut[SIPConfigPair], error) {
			if in.PhoneNumber == "" {
				return nil, queryProblem("phone_number", "", "required")
			}
			acct := principal(ctx).AccountID
			num, err := s.cfg.Store.ResolveSIPNumber(ctx, acct, in.PhoneNumber)
			var ve *store.ValidationError
			if errors.As(err, &ve) {
				return nil, queryProblem("phone_number", in.PhoneNumber, ve.Reason)
			}
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			cs, err := s.cfg.Store.SIPConfigurations(ctx, acct, num)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			var pair SIPConfigPair
			if c, ok, _ := store.PickSIPConfiguration(cs, headermap.Inbound, in.TrunkID, false); ok {
				pair.Inbound = configView(c)
				pair.Inbound.Registration = s.registrationView(c.ID)
			}
			if c, ok, _ := store.PickSIPConfiguration(cs, headermap.Outbound, in.TrunkID, false); ok {
				pair.Outbound = configView(c)
			}
			return &sipOut[SIPConfigPair]{Body: sipEnvelope(pair)}, nil
		})

	huma.Register(s.api, op("listSipNumbers", http.MethodGet, "/v1/sip/numbers", "List numbers with SIP configuration",
		"Numbers in ascending order, limit per page; pass next_cursor as cursor for the next page."),
		func(ctx context.Context, in *struct {
			Limit   int    `query:"limit" example:"50" doc:"1 to 100; default 50."`
			Cursor  string `query:"cursor" doc:"next_cursor of the previous page."`
			TrunkID string `query:"trunk_id" doc:"Only numbers bound to this trunk."`
		}) (*sipOut[SIPNumberList], error) {
			limit := in.Limit
			if limit == 0 {
				limit = 50
			}
			if limit < 1 || limit > 100 {
				return nil, queryProblem("limit", in.Limit, "must be from 1 to 100")
			}
			page, err := s.cfg.Store.SIPNumbers(ctx, principal(ctx).AccountID, in.TrunkID, in.Cursor, limit)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out := SIPNumberList{Numbers: make([]SIPNumberSummary, 0, len(page.Numbers)), Total: page.Total}
			if page.Next != "" {
				out.NextCursor = &page.Next
			}
			for _, n := range page.Numbers {
				sum := SIPNumberSummary{PhoneNumber: n.PhoneNumber, TrunkIDs: []string{}, Configurations: len(n.Configurations)}
				for _, c := range n.Configurations {
					sum.Inbound = sum.Inbound || c.Direction == headermap.Inbound
					sum.Outbound = sum.Outbound || c.Direction == headermap.Outbound
					if c.TrunkID != "" && !slices.Contains(sum.TrunkIDs, c.TrunkID) {
						sum.TrunkIDs = append(sum.TrunkIDs, c.TrunkID)
					}
					if c.UpdatedAt.After(sum.UpdatedAt) {
						sum.UpdatedAt = c.UpdatedAt
					}
				}
				out.Numbers = append(out.Numbers, sum)
			}
			return &sipOut[SIPNumberList]{Body: sipEnvelope(out)}, nil
		})

	huma.Register(s.api, op("parseSipDestination", http.MethodPost, "/v1/sip/parse-destination", "Parse a SIP destination",
		"Accepts sip:user@host:5061;transport=tls, sips:host, tls://host, host:port or host, and returns host, port and transport (defaults 5060/udp, 5061 for tls), or a 400 saying precisely what is wrong."),
		func(ctx context.Context, in *rawJSON) (*sipOut[ParsedDestination], error) {
			var body ParseDestinationRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			d, err := sipdest.Parse(strings.TrimSpace(body.Destination))
			if err != nil {
				return nil, fieldProblem("destination", body.Destination, strings.TrimPrefix(err.Error(), sipdest.ErrInvalid.Error()+": "))
			}
			return &sipOut[ParsedDestination]{Body: sipEnvelope(ParsedDestination{Host: d.Host, Port: d.Port, Transport: string(d.Transport), User: d.User, URI: d.URI()})}, nil
		})
	s.bodySchema("/v1/sip/parse-destination", http.MethodPost, reflectType[ParseDestinationRequest](), true)

	registerSIPTrunks(s, op)
	registerAPIKeys(s)
	// Huma's nullable tag covers scalars only; these objects are null when absent.
	s.nullableObject("SIPConfigPair", "inbound")
	s.nullableObject("SIPConfigPair", "outbound")
	s.nullableObject("SIPConfigurationView", "headers")
}

// nullableObject documents an object property that may be null, as
// oneOf [object, null] (OpenAPI 3.1).
func (s *Server) nullableObject(schema, prop string) {
	sc := s.api.OpenAPI().Components.Schemas.Map()[schema]
	if sc == nil || sc.Properties[prop] == nil {
		return
	}
	p := sc.Properties[prop]
	sc.Properties[prop] = &huma.Schema{Description: p.Description, OneOf: []*huma.Schema{{Ref: p.Ref}, {Type: "null"}}}
	p.Description = ""
}

func registerSIPTrunks(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	const base = "/v1/sip/trunks"
	create := op("createSipTrunk", http.MethodPost, base, "Create a SIP trunk", "A trunk holds endpoint, auth and options once for many numbers (attach them with trunk_id).")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *rawJSON) (*sipOut[SIPTrunkView], error) {
		var body SIPTrunkInput
		if err := decodeJSON(in.RawBody, &body); err != nil {
			return nil, err
		}
		if body.Name == nil {
			return nil, fieldProblem("name", nil, "required")
		}
		t := store.SIPTrunk{AccountID: principal(ctx).AccountID}
		reg, err := body.patch().Apply(&t)
		if err != nil {
			return nil, validationProblem(err)
		}
		t, err = s.cfg.Store.CreateSIPTrunk(ctx, t)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &sipOut[SIPTrunkView]{Body: sipEnvelope(trunkView(t, reg))}, nil
	})
	s.bodySchema(base, http.MethodPost, reflectType[SIPTrunkInput](), true)

	huma.Register(s.api, op("listSipTrunks", http.MethodGet, base, "List SIP trunks", ""),
		func(ctx context.Context, _ *struct{}) (*sipOut[[]SIPTrunkView], error) {
			ts, err := s.cfg.Store.SIPTrunks(ctx, principal(ctx).AccountID)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out := make([]SIPTrunkView, 0, len(ts))
			for _, t := range ts {
				out = append(out, trunkView(t, false))
			}
			return &sipOut[[]SIPTrunkView]{Body: sipEnvelope(out)}, nil
		})

	huma.Register(s.api, op("getSipTrunk", http.MethodGet, base+"/{trunk_id}", "Get a SIP trunk", "", http.StatusNotFound),
		func(ctx context.Context, in *TrunkPath) (*sipOut[SIPTrunkView], error) {
			t, err := s.cfg.Store.SIPTrunk(ctx, principal(ctx).AccountID, in.TrunkID)
			if err != nil {
				return nil, s.lookupError(ctx, err, "trunk "+in.TrunkID)
			}
			return &sipOut[SIPTrunkView]{Body: sipEnvelope(trunkView(t, false))}, nil
		})

	huma.Register(s.api, op("updateSipTrunk", http.MethodPatch, base+"/{trunk_id}", "Update a SIP trunk",
		"Partial update: fields not sent stay as they are. Bound numbers follow the change at once.", http.StatusNotFound),
		func(ctx context.Context, in *struct {
			TrunkPath
			RawBody []byte `contentType:"application/json"`
		}) (*sipOut[SIPTrunkView], error) {
			var body SIPTrunkInput
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			acct := principal(ctx).AccountID
			t, err := s.cfg.Store.SIPTrunk(ctx, acct, in.TrunkID)
			if err != nil {
				return nil, s.lookupError(ctx, err, "trunk "+in.TrunkID)
			}
			reg, err := body.patch().Apply(&t)
			if err != nil {
				return nil, validationProblem(err)
			}
			t, err = s.cfg.Store.UpdateSIPTrunk(ctx, t)
			var ve *store.ValidationError
			if errors.As(err, &ve) {
				return nil, validationProblem(err)
			}
			if err != nil {
				return nil, s.lookupError(ctx, err, "trunk "+in.TrunkID)
			}
			return &sipOut[SIPTrunkView]{Body: sipEnvelope(trunkView(t, reg))}, nil
		})
	s.bodySchema(base+"/{trunk_id}", http.MethodPatch, reflectType[SIPTrunkInput](), true)

	del := op("deleteSipTrunk", http.MethodDelete, base+"/{trunk_id}", "Delete a SIP trunk",
		"Refused with 409 while numbers are bound to the trunk: detach them first.", http.StatusNotFound, http.StatusConflict)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *TrunkPath) (*struct{}, error) {
		err := s.cfg.Store.DeleteSIPTrunk(ctx, principal(ctx).AccountID, in.TrunkID)
		if errors.Is(err, store.ErrTrunkInUse) {
			return nil, huma.Error409Conflict(strings.TrimPrefix(err.Error(), "delete sip trunk "+in.TrunkID+": "))
		}
		if err != nil {
			return nil, s.lookupError(ctx, err, "trunk "+in.TrunkID)
		}
		return nil, nil
	})
}

// APIKeyCreate names a new API key.
type APIKeyCreate struct {
	Name string `json:"name,omitempty" maxLength:"256" example:"CI pipeline"`
}

// APIKeyCreated is a new API key; the key is shown this once.
type APIKeyCreated struct {
	ID        string    `json:"id" example:"key_0123456789abcdef"`
	Name      string    `json:"name"`
	Key       string    `json:"key" example:"wvk_3q2-7wEvXn0m5a1l3BfQ8hT9yZk4cUe6rPs0dJg1VfM" doc:"Send it as the Authorization header of the /v1/sip routes. Shown once; only a hash is kept."`
	CreatedAt time.Time `json:"created_at"`
}

func registerAPIKeys(s *Server) {
	huma.Register(s.api, huma.Operation{
		OperationID: "createApiKey", Method: http.MethodPost, Path: "/v1/api-keys", Summary: "Create an API key",
		Description: "Makes an API key for the caller's account (bearer token only). The key authenticates the /v1/sip routes when sent as the Authorization header, raw or after Bearer.",
		Tags:        []string{"Auth"}, Security: bearerOnly, DefaultStatus: http.StatusCreated, MaxBodyBytes: 8 << 10,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized}, SkipValidateBody: true,
	}, func(ctx context.Context, in *rawJSON) (*sipOut[APIKeyCreated], error) {
		var body APIKeyCreate
		if len(bytes.TrimSpace(in.RawBody)) > 0 {
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
		}
		k, key, err := s.cfg.Store.CreateAPIKey(ctx, principal(ctx).AccountID, body.Name)
		if err != nil {
			return nil, s.sipError(ctx, err)
		}
		return &sipOut[APIKeyCreated]{Body: sipEnvelope(APIKeyCreated{ID: k.ID, Name: k.Name, Key: key, CreatedAt: k.CreatedAt})}, nil
	})
	s.bodySchema("/v1/api-keys", http.MethodPost, reflectType[APIKeyCreate](), false)
}

// requireSIPFeature answers 403 unless the caller's account has the "sip"
// feature. It runs after authMiddleware, before the body is read.
func (s *Server) requireSIPFeature(ctx huma.Context, next func(huma.Context)) {
	p := principal(ctx.Context())
	a, err := s.cfg.Store.Account(ctx.Context(), p.AccountID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "the account of these credentials no longer exists")
			return
		}
		s.log.ErrorContext(ctx.Context(), "load account", "err", err, "request_id", RequestID(ctx.Context()))
		huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "internal error (request "+RequestID(ctx.Context())+")")
		return
	}
	if !a.HasFeature(store.FeatureSIP) {
		huma.WriteErr(s.api, ctx, http.StatusForbidden, fmt.Sprintf("SIP trunking is not enabled for account %s: the account needs the %q feature", a.ID, store.FeatureSIP))
		return
	}
	next(ctx)
}

// bodySchema documents the JSON body of a route that decodes it itself.
func (s *Server) bodySchema(path, method string, t reflect.Type, required bool) {
	item := s.api.OpenAPI().Paths[path]
	var op *huma.Operation
	switch method {
	case http.MethodPost:
		op = item.Post
	case http.MethodPatch:
		op = item.Patch
	}
	op.RequestBody.Required = required
	delete(op.Responses, "422") // decodeJSON answers 400 for every body mistake
	op.RequestBody.Content = map[string]*huma.MediaType{
		"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(t, true, "")},
	}
}

// decodeJSON decodes a request body strictly (unknown fields are refused) and
// turns any failure into a 400 that names the field.
func decodeJSON(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return huma.Error400BadRequest("request body is required: a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return huma.Error400BadRequest("unexpected data after the JSON object")
	}
	return nil
}

func jsonProblem(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return huma.Error400BadRequest(fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error()))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return huma.Error400BadRequest(fmt.Sprintf("the body must be a JSON %s, not %s", jsonType(te.Type), te.Value))
		}
		return fieldProblem(field, nil, fmt.Sprintf("must be a JSON %s, not %s", jsonType(te.Type), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldProblem(name, nil, "unknown field")
	}
	return huma.Error400BadRequest("malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

// fieldProblem is a 400 naming a body field.
func fieldProblem(field string, value any, reason string) error {
	return huma.Error400BadRequest("invalid "+field+": "+reason, &huma.ErrorDetail{Location: "body." + field, Message: reason, Value: value})
}

func queryProblem(field string, value any, reason string) error {
	return huma.Error400BadRequest("invalid "+field+": "+reason, &huma.ErrorDetail{Location: "query." + field, Message: reason, Value: value})
}

// oneOrMany applies the phone_number xor phone_numbers rule.
func oneOrMany(one *string, many []string) ([]string, string, error) {
	switch {
	case one != nil && many != nil:
		return nil, "", fieldProblem("phone_numbers", nil, "send phone_number or phone_numbers, not both")
	case one != nil:
		if *one == "" {
			return nil, "", fieldProblem("phone_number", "", "must not be empty")
		}
		return []string{*one}, "phone_number", nil
	case len(many) > store.MaxNumbersPerRequest:
		return nil, "", fieldProblem("phone_numbers", len(many), fmt.Sprintf("at most %d numbers per request, got %d", store.MaxNumbersPerRequest, len(many)))
	case many != nil:
		if len(many) == 0 {
			return nil, "", fieldProblem("phone_numbers", nil, "must list at least one number")
		}
		return many, "phone_numbers", nil
	}
	return nil, "", fieldProblem("phone_number", nil, "required: phone_number or phone_numbers")
}

func (s *Server) sipError(ctx context.Context, err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return validationProblem(err)
	}
	return s.internal(ctx, err)
}

func onTrunk(id string) string {
	if id == "" {
		return ""
	}
	return " on trunk " + id
}
