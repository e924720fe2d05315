package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// VoiceApplication is a voice application as the API shows it.
type VoiceApplication struct {
	ApplicationID               string    `json:"applicationId" format:"uuid" example:"1d3e2f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"`
	ApplicationName             string    `json:"applicationName" example:"Support line"`
	CallInitiatedCallbackURL    string    `json:"callInitiatedCallbackUrl" example:"https://example.com/voice/initiate" doc:"Receives the initiate callback and answers BXML. Empty when unset."`
	CallInitiatedMethod         string    `json:"callInitiatedMethod" enum:"POST,GET"`
	CallInitiatedFallbackURL    string    `json:"callInitiatedFallbackUrl" doc:"Tried once when the callback URL fails. Empty when unset."`
	CallInitiatedFallbackMethod string    `json:"callInitiatedFallbackMethod" enum:"POST,GET"`
	CallStatusCallbackURL       string    `json:"callStatusCallbackUrl" doc:"Receives the disconnect callback. Empty when unset."`
	CallStatusCallbackMethod    string    `json:"callStatusCallbackMethod" enum:"POST,GET"`
	Username                    string    `json:"username" doc:"Basic auth user name sent with callbacks (the password is write-only)."`
	InboundSIPCallsEnabled      bool      `json:"inboundSipCallsEnabled" doc:"Whether SIP clients may call the application's sipUri."`
	SIPURI                      *string   `json:"sipUri" nullable:"true" example:"sip:1d3e2f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6@sip.example.com" doc:"sip:<applicationId>@<sip domain>; null while inbound SIP calls are disabled."`
	PasswordAuthEnabled         bool      `json:"passwordAuthEnabled" doc:"Whether INVITEs must answer a 407 digest challenge."`
	SIPAuthPassword             string    `json:"sipAuthPassword,omitempty" doc:"The SIP digest password, present only in the response that generated it. Digest user name is the applicationId."`
	AllowedSourceIPs            []string  `json:"allowedSourceIps" example:"[\"203.0.113.0/24\"]" doc:"Public IPv4 CIDRs calls may come from; empty means any."`
	AllowedRegions              []string  `json:"allowedRegions" example:"[\"US\",\"EU\"]" doc:"Regions whose nodes accept the application's SIP calls."`
	SIPDigestAlgorithms         []string  `json:"sipDigestAlgorithms" example:"[\"MD5\"]" doc:"Digest algorithms the Inbound SIP URI challenges with, most preferred first, as in force (the node's --sip-digest-algorithms, MD5 by default, unless the application set its own)."`
	ModuleID                    string    `json:"moduleId" doc:"The Wasm module (of this account) that answers the events in moduleEvents; empty when none. The callback URLs stay the fallback when the module fails."`
	ModuleEvents                []string  `json:"moduleEvents" doc:"Event kinds the module answers, as in force: call (the call events, answered with BXML), sip.inbound (each INVITE to the application, before the call exists), sip.outbound (each INVITE sent for its calls), sip.refer (each REFER a peer sends in its calls). All four when the application set none; empty without a module."`
	ModuleMemoryPages           int       `json:"moduleMemoryPages" doc:"Guest memory cap in 64 KiB pages; 0 is the node default. Clamped to the node maximum."`
	ModuleTimeoutMs             int       `json:"moduleTimeoutMs" doc:"Time limit per event in milliseconds; 0 is the node default. Clamped to the node maximum."`
	MaxConcurrentCalls          int       `json:"maxConcurrentCalls" doc:"Cap on the application's calls up at once (further INVITEs get 503 with Retry-After, createCall 429); 0 is the node default (--max-calls-per-application)."`
	CreatedTime                 time.Time `json:"createdTime"`
	LastModifiedTime            time.Time `json:"lastModifiedTime"`
}

// VoiceApplicationCreate is the body that creates an application.
type VoiceApplicationCreate struct {
	ApplicationName string `json:"applicationName" minLength:"1" maxLength:"256" example:"Support line"`
	VoiceApplicationFields
}

// VoiceApplicationPatch changes the fields it names and leaves the rest.
type VoiceApplicationPatch struct {
	ApplicationName *string `json:"applicationName,omitempty" minLength:"1" maxLength:"256"`
	VoiceApplicationFields
}

// VoiceApplicationFields are the optional, patchable fields.
type VoiceApplicationFields struct {
	CallInitiatedCallbackURL    *string   `json:"callInitiatedCallbackUrl,omitempty" maxLength:"2048" example:"https://example.com/voice/initiate" doc:"http(s) URL; empty string clears it."`
	CallInitiatedMethod         *string   `json:"callInitiatedMethod,omitempty" enum:"POST,GET"`
	CallInitiatedFallbackURL    *string   `json:"callInitiatedFallbackUrl,omitempty" maxLength:"2048"`
	CallInitiatedFallbackMethod *string   `json:"callInitiatedFallbackMethod,omitempty" enum:"POST,GET"`
	CallStatusCallbackURL       *string   `json:"callStatusCallbackUrl,omitempty" maxLength:"2048"`
	CallStatusCallbackMethod    *string   `json:"callStatusCallbackMethod,omitempty" enum:"POST,GET"`
	Username                    *string   `json:"username,omitempty" maxLength:"1024" doc:"Basic auth user name sent with callbacks."`
	Password                    *string   `json:"password,omitempty" maxLength:"1024" writeOnly:"true" doc:"Basic auth password sent with callbacks; never returned."`
	InboundSIPCallsEnabled      *bool     `json:"inboundSipCallsEnabled,omitempty" doc:"Enabling needs passwordAuthEnabled: true or a non-empty allowedSourceIps. Disabling clears the URI, the password and both lists."`
	PasswordAuthEnabled         *bool     `json:"passwordAuthEnabled,omitempty" doc:"true generates a new SIP password (returned once as sipAuthPassword); sending true again rotates it."`
	AllowedSourceIPs            *[]string `json:"allowedSourceIps,omitempty" maxItems:"25" example:"[\"203.0.113.0/24\"]" doc:"Replaces the whole list: public IPv4 CIDRs in canonical form."`
	AllowedRegions              *[]string `json:"allowedRegions,omitempty" example:"[\"US\"]" doc:"Replaces the whole list; known regions: US, EU, ASIA."`
	SIPDigestAlgorithms         *[]string `json:"sipDigestAlgorithms,omitempty" maxItems:"2" example:"[\"SHA-256\",\"MD5\"]" doc:"Digest algorithms the Inbound SIP URI challenges with, most preferred first: MD5, SHA-256 (RFC 8760). Some clients (baresip 1.x, sipp 3.6) complete MD5 only and fail when any SHA-256 challenge is offered. Empty takes the node default."`
	ModuleID                    *string   `json:"moduleId,omitempty" maxLength:"64" doc:"Binds a Wasm module of this account (POST /v2/accounts/{accountId}/modules); empty string unbinds."`
	ModuleEvents                *[]string `json:"moduleEvents,omitempty" maxItems:"4" doc:"Replaces the list of event kinds the module answers: call, sip.inbound, sip.outbound, sip.refer; empty means all four."`
	ModuleMemoryPages           *int      `json:"moduleMemoryPages,omitempty" minimum:"0" maximum:"65536" doc:"Guest memory cap in 64 KiB pages (0: node default), clamped to the node maximum."`
	ModuleTimeoutMs             *int      `json:"moduleTimeoutMs,omitempty" minimum:"0" maximum:"60000" doc:"Time limit per event in ms (0: node default), clamped to the node maximum."`
	MaxConcurrentCalls          *int      `json:"maxConcurrentCalls,omitempty" minimum:"0" maximum:"100000" doc:"Cap on the application's calls up at once; 0 takes the node default."`
}

func (f VoiceApplicationFields) patch() store.ApplicationPatch {
	return store.ApplicationPatch{
		CallInitiatedCallbackURL:    f.CallInitiatedCallbackURL,
		CallInitiatedMethod:         f.CallInitiatedMethod,
		CallInitiatedFallbackURL:    f.CallInitiatedFallbackURL,
		CallInitiatedFallbackMethod: f.CallInitiatedFallbackMethod,
		CallStatusCallbackURL:       f.CallStatusCallbackURL,
		CallStatusCallbackMethod:    f.CallStatusCallbackMethod,
		CallbackUsername:            f.Username,
		CallbackPassword:            f.Password,
		InboundSIPEnabled:           f.InboundSIPCallsEnabled,
		PasswordAuthEnabled:         f.PasswordAuthEnabled,
		AllowedSourceIPs:            f.AllowedSourceIPs,
		AllowedRegions:              f.AllowedRegions,
		SIPDigestAlgorithms:         f.SIPDigestAlgorithms,
		Module: store.ModuleBindingPatch{
			ModuleID: f.ModuleID, ModuleEvents: f.ModuleEvents,
			ModuleMemoryPages: f.ModuleMemoryPages, ModuleTimeoutMS: f.ModuleTimeoutMs,
		},
		MaxConcurrentCalls: f.MaxConcurrentCalls,
	}
}

// AccountPath is the {accountId} path parameter.
type AccountPath struct {
	AccountID string `path:"accountId" maxLength:"64" example:"9900000" doc:"Your account ID."`
}

// ApplicationPath is the {accountId} and {applicationId} path parameters.
type ApplicationPath struct {
	AccountPath
	ApplicationID string `path:"applicationId" maxLength:"64" example:"1d3e2f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"`
}

type applicationOutput struct {
	Body Envelope[VoiceApplication]
}

type applicationListOutput struct {
	Body Envelope[[]VoiceApplication]
}

func registerApplications(s *Server) {
	const base = "/v2/accounts/{accountId}/voice-applications"
	tags := []string{"Voice applications"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}
	huma.Register(s.api, huma.Operation{
		OperationID: "listVoiceApplications", Method: http.MethodGet, Path: base,
		Summary: "List voice applications", Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *AccountPath) (*applicationListOutput, error) {
		apps, err := s.cfg.Store.Applications(ctx, in.AccountID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]VoiceApplication, 0, len(apps))
		for _, a := range apps {
			out = append(out, s.toVoiceApplication(a, ""))
		}
		return &applicationListOutput{Body: envelope(out)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "createVoiceApplication", Method: http.MethodPost, Path: base,
		Summary: "Create a voice application", Tags: tags, Security: bearerOnly, Errors: errs,
		DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		AccountPath
		Body VoiceApplicationCreate
	}) (*applicationOutput, error) {
		a := store.Application{
			AccountID: in.AccountID, CallInitiatedMethod: "POST", CallInitiatedFallbackMethod: "POST", CallStatusCallbackMethod: "POST",
			AllowedSourceIPs: []string{}, AllowedRegions: []string{},
		}
		a.ID = newUUID()
		p := in.Body.patch()
		p.Name = &in.Body.ApplicationName
		pw, err := p.Apply(&a, s.cfg.SIPDomain)
		if err != nil {
			return nil, validationProblem(err)
		}
		if err := s.checkModuleBinding(ctx, a); err != nil {
			return nil, err
		}
		a, err = s.cfg.Store.CreateApplication(ctx, a)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &applicationOutput{Body: envelope(s.toVoiceApplication(a, pw))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getVoiceApplication", Method: http.MethodGet, Path: base + "/{applicationId}",
		Summary: "Get a voice application", Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *ApplicationPath) (*applicationOutput, error) {
		a, err := s.cfg.Store.Application(ctx, in.AccountID, in.ApplicationID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "application "+in.ApplicationID)
		}
		return &applicationOutput{Body: envelope(s.toVoiceApplication(a, ""))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateVoiceApplication", Method: http.MethodPatch, Path: base + "/{applicationId}",
		Summary:     "Update a voice application",
		Description: "Partial update: fields not sent stay as they are. Inbound SIP URI rules apply to the resulting state.",
		Tags:        tags, Security: bearerOnly, Errors: errs, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		ApplicationPath
		Body VoiceApplicationPatch
	}) (*applicationOutput, error) {
		a, err := s.cfg.Store.Application(ctx, in.AccountID, in.ApplicationID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "application "+in.ApplicationID)
		}
		p := in.Body.patch()
		p.Name = in.Body.ApplicationName
		pw, err := p.Apply(&a, s.cfg.SIPDomain)
		if err != nil {
			return nil, validationProblem(err)
		}
		if err := s.checkModuleBinding(ctx, a); err != nil {
			return nil, err
		}
		a, err = s.cfg.Store.UpdateApplication(ctx, a)
		if err != nil {
			return nil, s.lookupError(ctx, err, "application "+in.ApplicationID)
		}
		return &applicationOutput{Body: envelope(s.toVoiceApplication(a, pw))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteVoiceApplication", Method: http.MethodDelete, Path: base + "/{applicationId}",
		Summary: "Delete a voice application", Tags: tags, Security: bearerOnly, Errors: errs,
		DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *ApplicationPath) (*struct{}, error) {
		if err := s.cfg.Store.DeleteApplication(ctx, in.AccountID, in.ApplicationID); err != nil {
			return nil, s.lookupError(ctx, err, "application "+in.ApplicationID)
		}
		return nil, nil
	})
}

func (s *Server) toVoiceApplication(a store.Application, sipPassword string) VoiceApplication {
	v := VoiceApplication{
		ApplicationID: a.ID, ApplicationName: a.Name,
		CallInitiatedCallbackURL: a.CallInitiatedCallbackURL, CallInitiatedMethod: a.CallInitiatedMethod,
		CallInitiatedFallbackURL: a.CallInitiatedFallbackURL, CallInitiatedFallbackMethod: a.CallInitiatedFallbackMethod,
		CallStatusCallbackURL: a.CallStatusCallbackURL, CallStatusCallbackMethod: a.CallStatusCallbackMethod,
		Username:               a.CallbackUsername,
		InboundSIPCallsEnabled: a.InboundSIPEnabled, PasswordAuthEnabled: a.PasswordAuthEnabled,
		SIPAuthPassword:  sipPassword,
		AllowedSourceIPs: nonNilStrings(a.AllowedSourceIPs), AllowedRegions: nonNilStrings(a.AllowedRegions),
		CreatedTime: a.CreatedAt, LastModifiedTime: a.UpdatedAt,
		ModuleID: a.ModuleID, ModuleEvents: a.EventsInForce(), SIPDigestAlgorithms: s.digestAlgorithms(a),
		ModuleMemoryPages: a.ModuleMemoryPages, ModuleTimeoutMs: a.ModuleTimeoutMS, MaxConcurrentCalls: a.MaxConcurrentCalls,
	}
	if uri := a.SIPURI(s.sipHost()); uri != "" {
		v.SIPURI = &uri
	}
	return v
}

// digestAlgorithms are the algorithms a's Inbound SIP URI challenges with.
func (s *Server) digestAlgorithms(a store.Application) []string {
	if len(a.SIPDigestAlgorithms) > 0 {
		return a.SIPDigestAlgorithms
	}
	return nonNilStrings(s.cfg.DigestAlgorithms)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// validationProblem turns a rule violation into a 400 that names the field.
func validationProblem(err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return huma.Error400BadRequest("invalid "+ve.Field+": "+ve.Reason, &huma.ErrorDetail{
			Location: "body." + ve.Field, Message: ve.Reason, Value: ve.Value,
		})
	}
	return huma.Error400BadRequest(err.Error())
}

func (s *Server) lookupError(ctx context.Context, err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return huma.Error404NotFound(what + " not found")
	}
	return s.internal(ctx, err)
}

func (s *Server) internal(ctx context.Context, err error) error {
	s.log.ErrorContext(ctx, "api error", "error", err, "requestId", RequestID(ctx))
	return huma.Error500InternalServerError("internal error (request " + RequestID(ctx) + ")")
}
