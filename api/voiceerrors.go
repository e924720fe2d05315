package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The Voice API (everything under /api/v2/, Bandwidth's voice base path)
// answers errors as Bandwidth does, with a VoiceApiError body, because the
// official clients decode exactly that; the management routes keep RFC 9457
// problem details. The conversion happens once, at the HTTP layer, so every
// Voice route (whoever adds it) gets it, and so do errors Huma makes itself
// (schema validation) and the mux's 404 and 405.

// voicePrefix is the path prefix of the Voice API.
const voicePrefix = "/api/v2/"

// VoiceAPIError is the error body of the Voice API (the spec's
// voiceApiError).
type VoiceAPIError struct {
	Type        string  `json:"type" example:"validation" doc:"The kind of error: validation, authentication, authorization, not-found, method-not-allowed, conflict, unsupported-media-type, too-many-requests, internal-server-error."`
	Description string  `json:"description" example:"body.to: expected length <= 1024"`
	ID          *string `json:"id" nullable:"true" doc:"The request's ID (also in the X-Request-Id header)."`
}

// voiceErrorType names the error kinds by status.
func voiceErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "validation"
	case http.StatusUnauthorized:
		return "authentication"
	case http.StatusForbidden:
		return "authorization"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusTooManyRequests:
		return "too-many-requests"
	}
	if status >= 500 {
		return "internal-server-error"
	}
	return "validation"
}

// voiceStatus maps our statuses onto those the spec gives Voice routes:
// Huma's 422 (schema validation) and 413 (body too large) are the spec's
// 400.
func voiceStatus(status int) int {
	switch status {
	case http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		return http.StatusBadRequest
	}
	return status
}

// withVoiceErrors rewrites the error responses of Voice API routes into
// VoiceApiError bodies; everything else passes through untouched.
func withVoiceErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, voicePrefix) {
			next.ServeHTTP(w, r)
			return
		}
		vw := &voiceErrorWriter{ResponseWriter: w}
		next.ServeHTTP(vw, r)
		vw.flushError()
	})
}

// voiceErrorWriter holds back an error response (status >= 400) until the
// handler is done, then writes it as a VoiceApiError. Success responses,
// recordings' media streams included, go straight through.
type voiceErrorWriter struct {
	http.ResponseWriter
	status int // the error status held back; 0 while passing through
	passed bool
	body   bytes.Buffer
}

func (w *voiceErrorWriter) WriteHeader(code int) {
	if w.status != 0 || w.passed {
		return
	}
	if code >= 400 {
		w.status = code
		return
	}
	w.passed = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *voiceErrorWriter) Write(b []byte) (int, error) {
	if w.status == 0 && !w.passed {
		w.WriteHeader(http.StatusOK)
	}
	if w.status != 0 {
		if w.body.Len() < 64<<10 { // an error body is small; never hold more
			w.body.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *voiceErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *voiceErrorWriter) flushError() {
	if w.status == 0 {
		return
	}
	h := w.ResponseWriter.Header()
	out := VoiceAPIError{Type: voiceErrorType(voiceStatus(w.status)), Description: errorDescription(h.Get("Content-Type"), w.body.Bytes(), w.status)}
	if id := h.Get("X-Request-Id"); id != "" {
		out.ID = &id
	}
	b, _ := json.Marshal(out)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Del("Content-Encoding")
	w.ResponseWriter.WriteHeader(voiceStatus(w.status))
	w.ResponseWriter.Write(b)
}

// errorDescription is one line saying what went wrong: a problem's detail
// and the field of each validation error, or the plain text the mux wrote.
func errorDescription(contentType string, body []byte, status int) string {
	if strings.Contains(contentType, "json") {
		// A VoiceApiError already (another node answered a forwarded
		// request): keep its description.
		var v VoiceAPIError
		if json.Unmarshal(body, &v) == nil && v.Description != "" {
			return v.Description
		}
		var p huma.ErrorModel
		if json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "" || len(p.Errors) > 0) {
			parts := []string{}
			if p.Detail != "" {
				parts = append(parts, p.Detail)
			} else if p.Title != "" {
				parts = append(parts, p.Title)
			}
			for _, e := range p.Errors {
				if e == nil {
					continue
				}
				if e.Location != "" {
					parts = append(parts, e.Location+": "+e.Message)
				} else {
					parts = append(parts, e.Message)
				}
			}
			return strings.Join(parts, "; ")
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" && !strings.Contains(contentType, "json") {
		return s
	}
	return http.StatusText(status)
}

// voiceErrorDocs makes the document say what withVoiceErrors does: every
// error response of a Voice operation is a VoiceApiError, and Huma's 422 is
// the spec's 400. It runs as each operation is added (OnAddOperation), so
// Voice routes registered in any order, by any file, are documented alike.
func voiceErrorDocs(oapi *huma.OpenAPI, op *huma.Operation) {
	if !strings.HasPrefix(op.Path, voicePrefix) {
		return
	}
	ref := oapi.Components.Schemas.Schema(reflect.TypeFor[VoiceAPIError](), true, "VoiceApiError")
	if r, ok := op.Responses["422"]; ok {
		delete(op.Responses, "422")
		if _, has := op.Responses["400"]; !has {
			op.Responses["400"] = r
		}
	}
	for code, r := range op.Responses {
		if code != "default" && (len(code) != 3 || code[0] < '4') {
			continue
		}
		n, _ := strconv.Atoi(code)
		r.Description = http.StatusText(n)
		if code == "default" {
			r.Description = "Error"
		}
		r.Content = map[string]*huma.MediaType{"application/json": {Schema: ref}}
	}
}
