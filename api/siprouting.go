package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

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
			acct, num, err := s.queryNumber(ctx, in.PhoneNumber)
			if err != nil {
				return nil, err
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
			trunk := in.TrunkID
			if c, ok, _ := store.PickSIPConfiguration(cs, headermap.Outbound, in.TrunkID, false); ok {
				pair.Outbound = configView(c)
				trunk = c.TrunkID
			}
			if s.cfg.Verification != nil && len(cs) > 0 {
				v, err := s.cfg.Verification.VerificationStatus(ctx, acct, num)
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				pair.Verification = &v
			}
			if s.cfg.TrunkConfig != nil && len(cs) > 0 {
				v, err := s.cfg.TrunkConfig.SIPConfig(ctx, acct, num, trunk)
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				pair.Config = &v
			}
			return &sipOut[SIPConfigPair]{Body: sipEnvelope(pair)}, nil
		})

	registerSIPHealth(s, op)
	registerSIPCalls(s, op)
	registerSIPNetwork(s, op)
	registerSIPDiscovery(s, op)
	registerSIPTestCall(s, op)
	registerSIPPorting(s, op)
	registerSIPConfig(s, op)
	registerSIPVerify(s, op)

	huma.Register(s.api, op("listSipNumbers", http.MethodGet, "/v1/sip/numbers", "List numbers with SIP configuration",
		"Numbers in ascending order, limit per page; pass next_cursor as cursor for the next page."),
		func(ctx context.Context, in *struct {
			Limit   int    `query:"limit" example:"50" doc:"1 to 100; default 50."`
			Cursor  string `query:"cursor" doc:"next_cursor of the previous page."`
			TrunkID string `query:"trunk_id" doc:"Only numbers bound to this trunk."`
		}) (*sipOut[SIPNumberList], error) {
			limit, err := pageLimit(in.Limit)
			if err != nil {
				return nil, err
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
	s.nullableObject("SIPConfigPair", "config")
	s.nullableObject("SIPConfigPair", "verification")
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
