package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// Decoding and errors of the /v1/sip routes: every invalid payload is a
// 400 naming the field.

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
		s.log.ErrorContext(ctx.Context(), "load account", "error", err, "requestId", RequestID(ctx.Context()))
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
	case http.MethodPut:
		op = item.Put
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
