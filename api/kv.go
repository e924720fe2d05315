package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/store"
)

// KVEntry is one entry of an application's key-value store: what the
// application's Wasm modules read and write with kv_get and kv_set.
type KVEntry struct {
	Key         string    `json:"key" example:"sales_uri"`
	KeyBase64   string    `json:"keyBase64,omitempty" doc:"The key's bytes in base64 (RFC 4648, padded), present only when they are not valid UTF-8 (a module may write any bytes); key then shows them with replacement characters. Percent-encode these bytes to address the entry."`
	Value       *string   `json:"value,omitempty" example:"sip:sales@pbx.example.com" doc:"The value as text; present when its bytes are valid UTF-8."`
	ValueBase64 *string   `json:"valueBase64,omitempty" doc:"The value's bytes in base64 (RFC 4648, padded); present instead of value when they are not valid UTF-8."`
	Size        int       `json:"size" doc:"The value's length in bytes."`
	UpdatedTime time.Time `json:"updatedTime" doc:"When a module or the API last wrote the entry."`
}

// KVPut is the body that sets an entry: exactly one of value and
// valueBase64.
type KVPut struct {
	Value       *string `json:"value,omitempty" example:"sip:sales@pbx.example.com" doc:"The value as text (stored as its UTF-8 bytes, which a module reads with KVGet). At most 16384 bytes."`
	ValueBase64 *string `json:"valueBase64,omitempty" doc:"The value's bytes in base64 (RFC 4648, padded), for values that are not text. At most 16384 bytes once decoded."`
}

// KVPath is the {accountId}, {applicationId} and {key} path parameters.
type KVPath struct {
	ApplicationPath
	Key string `path:"key" example:"sales_uri" doc:"The key, percent-encoded (a / in a key is %2F). 1 to 256 bytes, compared exactly."`
}

type kvOutput struct {
	Body Envelope[KVEntry]
}

type kvListOutput struct {
	Body Envelope[[]KVEntry]
}

// The KV limits are the module ABI's (sdk/README.md), so whatever an
// operator stores a module can read, and whatever a module stores the
// operator can read and write back.
const (
	maxKVKeyBytes   = sdk.DefaultMaxKVKeyBytes
	maxKVValueBytes = sdk.DefaultMaxKVValueBytes
	// maxKVBody leaves room for a value at the limit written with JSON
	// escapes (\u0000 is six bytes for one).
	maxKVBody = 8 * maxKVValueBytes
)

func registerKV(s *Server) {
	const base = "/v2/accounts/{accountId}/voice-applications/{applicationId}/kv"
	tags := []string{"Application key-value store"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}
	huma.Register(s.api, huma.Operation{
		OperationID: "listKVEntries", Method: http.MethodGet, Path: base,
		Summary: "List an application's key-value entries",
		Description: "Entries in key order (bytewise), pageSize at a time; when more follow, links has an entry " +
			"with rel \"next\" whose href fetches the next page.",
		Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *struct {
		ApplicationPath
		PageSize  int    `query:"pageSize" minimum:"1" maximum:"1000" default:"100"`
		PageToken string `query:"pageToken" maxLength:"512" doc:"From the previous page's next link."`
	}) (*kvListOutput, error) {
		if err := s.kvApplication(ctx, in.ApplicationPath); err != nil {
			return nil, err
		}
		page, err := store.AppKV{Store: s.cfg.Store}.Entries(ctx, in.ApplicationID, in.PageSize, in.PageToken)
		if errors.Is(err, store.ErrBadPageToken) {
			return nil, huma.Error400BadRequest("invalid pageToken", &huma.ErrorDetail{Location: "query.pageToken", Message: "not a token this server made"})
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := kvListOutput{Body: envelope(make([]KVEntry, 0, len(page.Entries)))}
		for _, e := range page.Entries {
			out.Body.Data = append(out.Body.Data, toKVEntry(e))
		}
		if page.NextPageToken != "" {
			q := url.Values{"pageSize": {strconv.Itoa(in.PageSize)}, "pageToken": {page.NextPageToken}}
			href := fmt.Sprintf("%s/v2/accounts/%s/voice-applications/%s/kv?%s", s.cfg.PublicURL,
				url.PathEscape(in.AccountID), url.PathEscape(in.ApplicationID), q.Encode())
			out.Body.Links = append(out.Body.Links, Link{Href: href, Rel: "next", Method: http.MethodGet})
		}
		return &out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getKVEntry", Method: http.MethodGet, Path: base + "/{key}",
		Summary: "Get a key-value entry", Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *KVPath) (*kvOutput, error) {
		if err := s.kvKey(ctx, in); err != nil {
			return nil, err
		}
		e, err := store.AppKV{Store: s.cfg.Store}.Entry(ctx, in.ApplicationID, in.Key)
		if err != nil {
			return nil, s.lookupError(ctx, err, fmt.Sprintf("key %q", in.Key))
		}
		return &kvOutput{Body: envelope(toKVEntry(e))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "putKVEntry", Method: http.MethodPut, Path: base + "/{key}",
		Summary: "Set a key-value entry",
		Description: "Creates or replaces the entry. The application's modules read it with KVGet from their next " +
			"event on. An application holds at most 1024 keys: a new key past that gets 409.",
		Tags: tags, Security: bearerOnly, Errors: append(errs, http.StatusConflict), MaxBodyBytes: maxKVBody,
	}, func(ctx context.Context, in *struct {
		KVPath
		Body KVPut
	}) (*kvOutput, error) {
		if err := s.kvKey(ctx, &in.KVPath); err != nil {
			return nil, err
		}
		val, err := in.Body.bytes()
		if err != nil {
			return nil, err
		}
		e, err := store.AppKV{Store: s.cfg.Store}.Put(ctx, in.ApplicationID, in.Key, val)
		if errors.Is(err, store.ErrKVFull) {
			return nil, huma.Error409Conflict(fmt.Sprintf("the key-value store of application %s is full (%d keys): delete a key first",
				in.ApplicationID, store.DefaultKVMaxKeys))
		}
		if err != nil {
			return nil, s.lookupError(ctx, err, "application "+in.ApplicationID)
		}
		return &kvOutput{Body: envelope(toKVEntry(e))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteKVEntry", Method: http.MethodDelete, Path: base + "/{key}",
		Summary: "Delete a key-value entry", Tags: tags, Security: bearerOnly, Errors: errs,
		DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *KVPath) (*struct{}, error) {
		if err := s.kvKey(ctx, in); err != nil {
			return nil, err
		}
		if err := (store.AppKV{Store: s.cfg.Store}).Delete(ctx, in.ApplicationID, in.Key); err != nil {
			return nil, s.lookupError(ctx, err, fmt.Sprintf("key %q", in.Key))
		}
		return nil, nil
	})
}

// kvApplication answers 404 unless the path's application is the account's.
func (s *Server) kvApplication(ctx context.Context, in ApplicationPath) error {
	if _, err := s.cfg.Store.Application(ctx, in.AccountID, in.ApplicationID); err != nil {
		return s.lookupError(ctx, err, "application "+in.ApplicationID)
	}
	return nil
}

// kvKey checks the key against the ABI's limits, then the application.
func (s *Server) kvKey(ctx context.Context, in *KVPath) error {
	if n := len(in.Key); n == 0 || n > maxKVKeyBytes {
		msg := fmt.Sprintf("a key is 1 to %d bytes; this one is %d", maxKVKeyBytes, n)
		return huma.Error400BadRequest("invalid key: "+msg, &huma.ErrorDetail{Location: "path.key", Message: msg})
	}
	return s.kvApplication(ctx, in.ApplicationPath)
}

// bytes returns the value the body sets, or a 400 saying what is wrong.
func (p KVPut) bytes() ([]byte, error) {
	var val []byte
	switch {
	case p.Value != nil && p.ValueBase64 != nil:
		return nil, huma.Error400BadRequest("send value or valueBase64, not both", &huma.ErrorDetail{Location: "body.valueBase64", Message: "set with value"})
	case p.Value != nil:
		val = []byte(*p.Value)
	case p.ValueBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*p.ValueBase64)
		if err != nil {
			return nil, huma.Error400BadRequest("invalid valueBase64: "+err.Error(), &huma.ErrorDetail{Location: "body.valueBase64", Message: "not base64 (RFC 4648, padded)"})
		}
		val = b
	default:
		return nil, huma.Error400BadRequest("send value (text) or valueBase64 (bytes)", &huma.ErrorDetail{Location: "body.value", Message: "required"})
	}
	if len(val) > maxKVValueBytes {
		field := "value"
		if p.ValueBase64 != nil {
			field = "valueBase64"
		}
		msg := fmt.Sprintf("the value is %d bytes; the limit is %d", len(val), maxKVValueBytes)
		return nil, huma.Error400BadRequest("invalid "+field+": "+msg, &huma.ErrorDetail{Location: "body." + field, Message: msg})
	}
	return val, nil
}

func toKVEntry(e store.KVEntry) KVEntry {
	out := KVEntry{Key: e.Key, Size: len(e.Value), UpdatedTime: e.UpdatedAt}
	if !utf8.ValidString(e.Key) {
		out.KeyBase64 = base64.StdEncoding.EncodeToString([]byte(e.Key))
	}
	if utf8.Valid(e.Value) {
		v := string(e.Value)
		out.Value = &v
	} else {
		v := base64.StdEncoding.EncodeToString(e.Value)
		out.ValueBase64 = &v
	}
	return out
}
