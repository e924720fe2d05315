package api

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

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
