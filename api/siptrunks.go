package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

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
