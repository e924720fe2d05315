package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// Module is an uploaded Wasm call handler as the API shows it.
type Module struct {
	ModuleID    string    `json:"moduleId" format:"uuid"`
	Name        string    `json:"name" example:"ivr"`
	SHA256      string    `json:"sha256" example:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" doc:"Hex SHA-256 of the uploaded bytes."`
	Size        int       `json:"size" doc:"Bytes."`
	ABIVersion  int       `json:"abiVersion" example:"1" doc:"The wasmvoice ABI the module speaks (see sdk/README.md)."`
	Exports     []string  `json:"exports" doc:"Exported function names, sorted."`
	CreatedTime time.Time `json:"createdTime"`
}

// ModulePath is the {accountId} and {moduleId} path parameters.
type ModulePath struct {
	AccountPath
	ModuleID string `path:"moduleId" maxLength:"64"`
}

type moduleOutput struct {
	Body Envelope[Module]
}

type moduleListOutput struct {
	Body Envelope[[]Module]
}

// multipartSlack is room for the multipart framing around a module at the
// size limit.
const multipartSlack = 64 << 10

func registerModules(s *Server) {
	const base = "/v2/accounts/{accountId}/modules"
	tags := []string{"Modules"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	maxBytes := s.cfg.MaxModuleBytes
	if maxBytes <= 0 {
		maxBytes = wasmhost.DefaultMaxModuleBytes
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createModule", Method: http.MethodPost, Path: base,
		Summary: "Upload a Wasm call-handler module",
		Description: "The body is the module: raw (Content-Type: application/wasm) or a multipart/form-data " +
			"upload with the module in the part named `module` (or the first file part). The module is " +
			"validated and compiled before it is stored (ABI v1, see sdk/README.md); a refused module gets a " +
			"400 saying why, a module above the node's size limit a 413.",
		Tags: tags, Security: bearerOnly, Errors: append(errs, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable),
		DefaultStatus: http.StatusCreated, MaxBodyBytes: int64(maxBytes + multipartSlack),
	}, func(ctx context.Context, in *struct {
		AccountPath
		Name        string `query:"name" maxLength:"256" doc:"Module name (default: the multipart file name, else \"module\")."`
		ContentType string `header:"Content-Type"`
		RawBody     []byte `contentType:"application/wasm"`
	}) (*moduleOutput, error) {
		wasm, fileName, err := moduleUpload(in.ContentType, in.RawBody)
		if err != nil {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if len(wasm) > maxBytes {
			return nil, huma.Error413RequestEntityTooLarge(fmt.Sprintf("module is %d bytes, the limit is %d", len(wasm), maxBytes))
		}
		name := in.Name
		if name == "" {
			name = fileName
		}
		if name == "" {
			name = "module"
		}
		if s.cfg.Wasm == nil {
			return nil, huma.Error503ServiceUnavailable("this server runs no Wasm host")
		}
		m, err := s.cfg.Wasm.Compile(ctx, wasm)
		if err != nil {
			switch {
			case errors.Is(err, wasmhost.ErrModuleTooLarge):
				return nil, huma.Error413RequestEntityTooLarge(err.Error())
			case errors.Is(err, wasmhost.ErrRejected):
				return nil, huma.Error400BadRequest("module refused: " + err.Error())
			}
			return nil, s.internal(ctx, err)
		}
		meta := m.Meta()
		if err := m.Close(ctx); err != nil {
			s.log.WarnContext(ctx, "close validated module", "error", err)
		}
		info, err := s.cfg.Store.CreateModule(ctx, store.ModuleInfo{
			AccountID: in.AccountID, Name: name, ABIVersion: meta.ABIVersion, Exports: meta.Exports,
		}, wasm)
		if err != nil {
			return nil, s.lookupError(ctx, err, "account "+in.AccountID)
		}
		return &moduleOutput{Body: envelope(toModule(info))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "listModules", Method: http.MethodGet, Path: base,
		Summary: "List modules", Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *AccountPath) (*moduleListOutput, error) {
		ms, err := s.cfg.Store.Modules(ctx, in.AccountID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]Module, 0, len(ms))
		for _, m := range ms {
			out = append(out, toModule(m))
		}
		return &moduleListOutput{Body: envelope(out)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getModule", Method: http.MethodGet, Path: base + "/{moduleId}",
		Summary: "Get a module", Tags: tags, Security: bearerOnly, Errors: errs,
	}, func(ctx context.Context, in *ModulePath) (*moduleOutput, error) {
		m, err := s.cfg.Store.Module(ctx, in.AccountID, in.ModuleID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "module "+in.ModuleID)
		}
		return &moduleOutput{Body: envelope(toModule(m))}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteModule", Method: http.MethodDelete, Path: base + "/{moduleId}",
		Summary:     "Delete a module",
		Description: "Refused with 409 while a voice application is bound to the module.",
		Tags:        tags, Security: bearerOnly, Errors: append(errs, http.StatusConflict),
		DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *ModulePath) (*struct{}, error) {
		err := s.cfg.Store.DeleteModule(ctx, in.AccountID, in.ModuleID)
		if errors.Is(err, store.ErrModuleInUse) {
			return nil, huma.Error409Conflict(err.Error())
		}
		if err != nil {
			return nil, s.lookupError(ctx, err, "module "+in.ModuleID)
		}
		return nil, nil
	})
}

// moduleUpload returns the module bytes of a raw or multipart body, and the
// multipart file name when there is one.
func moduleUpload(contentType string, body []byte) ([]byte, string, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/form-data" {
		if len(body) == 0 {
			return nil, "", errors.New("empty body: send the module as application/wasm or multipart/form-data")
		}
		return body, "", nil
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var first []byte
	var firstName string
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("multipart body: %w", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, "", fmt.Errorf("multipart body: %w", err)
		}
		name := strings.TrimSuffix(p.FileName(), ".wasm")
		if p.FormName() == "module" {
			return b, name, nil
		}
		if first == nil && p.FileName() != "" {
			first, firstName = b, name
		}
	}
	if first == nil {
		return nil, "", errors.New("multipart body has no part named module and no file part")
	}
	return first, firstName, nil
}

func toModule(m store.ModuleInfo) Module {
	exports := m.Exports
	if exports == nil {
		exports = []string{}
	}
	return Module{
		ModuleID: m.ID, Name: m.Name, SHA256: m.SHA256, Size: m.Size, ABIVersion: m.ABIVersion,
		Exports: exports, CreatedTime: m.CreatedAt,
	}
}

// checkModuleBinding refuses a binding to a module the account does not have.
func (s *Server) checkModuleBinding(ctx context.Context, a store.Application) error {
	if a.ModuleID == "" {
		return nil
	}
	_, err := s.cfg.Store.Module(ctx, a.AccountID, a.ModuleID)
	if errors.Is(err, store.ErrNotFound) {
		return validationProblem(&store.ValidationError{Field: "moduleId", Value: a.ModuleID, Reason: "no such module in this account"})
	}
	if err != nil {
		return s.internal(ctx, err)
	}
	return nil
}
