package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIPPorting is the node's porting desk (trunkops.Porting behind the
// server's adapter). Mistakes are *store.ValidationError, unknown ports
// store.ErrNotFound, refused transitions ErrPortTransition, a number in
// another active port store.ErrNumberInPort, a document past 10 MB
// ErrDocumentTooLarge.
type SIPPorting interface {
	CheckPort(ctx context.Context, accountID string, numbers []string) ([]SIPPortCheck, error)
	SavePortDocument(ctx context.Context, accountID, fileName string, r io.Reader) (store.PortDocument, error)
	InitiatePort(ctx context.Context, accountID string, req SIPPortRequest) (store.Port, error)
	Ports(ctx context.Context, accountID string) ([]store.Port, error)
	Port(ctx context.Context, accountID, id string) (store.Port, error)
	CancelPort(ctx context.Context, accountID, id string) (store.Port, error)
	AdvancePort(ctx context.Context, id, status, reason string) (store.Port, error)
}

// ErrPortTransition refuses a port status change the state machine does
// not allow (409).
var ErrPortTransition = errors.New("port status transition not allowed")

// ErrDocumentTooLarge refuses a port document past 10 MB (413).
var ErrDocumentTooLarge = errors.New("document larger than 10 MB")

// maxPortUpload bounds a document upload's body: the 10 MB file and its
// multipart framing.
const maxPortUpload = 10<<20 + 64<<10

// SIPPortCheck is one number's portability.
type SIPPortCheck struct {
	PhoneNumber string  `json:"phone_number" example:"+14155550123" doc:"E.164 when valid, else as given."`
	Valid       bool    `json:"valid" doc:"A valid E.164 number."`
	Portable    bool    `json:"portable" doc:"May be ported into this account now."`
	Reason      *string `json:"reason" doc:"Why it is not portable, or a note; null when none." example:"already in port port_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
}

// SIPPortCheckResult is GET /v1/sip/port/check's data.
type SIPPortCheckResult struct {
	Numbers     []SIPPortCheck `json:"numbers"`
	AllPortable bool           `json:"all_portable" doc:"Every number is portable."`
}

// SIPPortDocumentView is an uploaded document.
type SIPPortDocumentView struct {
	DocumentID  string `json:"document_id" example:"doc_0b1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
	FileName    string `json:"file_name" example:"loa.pdf"`
	ContentType string `json:"content_type" enum:"application/pdf,image/png,image/jpeg,image/gif,image/webp" doc:"Sniffed from the file's bytes."`
	SizeBytes   int64  `json:"size_bytes" example:"48213"`
	SHA256      string `json:"sha256" example:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	CreatedAt   string `json:"created_at" format:"date-time"`
}

// SIPPortRepresentative is who authorized the port.
type SIPPortRepresentative struct {
	Name  string `json:"name" maxLength:"200" example:"Jane Doe" doc:"Required."`
	Title string `json:"title,omitempty" maxLength:"200" example:"IT Director"`
	Email string `json:"email,omitempty" example:"jane@example.com"`
	Phone string `json:"phone,omitempty" example:"+14155550100"`
}

// SIPPortAddress is the service address on the losing carrier's account.
type SIPPortAddress struct {
	Line1      string `json:"line1" maxLength:"200" example:"1 Market St" doc:"Required."`
	Line2      string `json:"line2,omitempty" maxLength:"200" example:"Suite 300"`
	City       string `json:"city" maxLength:"200" example:"San Francisco" doc:"Required."`
	State      string `json:"state,omitempty" maxLength:"200" example:"CA"`
	PostalCode string `json:"postal_code" maxLength:"200" example:"94105" doc:"Required."`
	Country    string `json:"country" example:"US" doc:"ISO 3166-1 alpha-2, required."`
}

// SIPPortRequest is POST /v1/sip/port/initiate's body.
type SIPPortRequest struct {
	PhoneNumbers             []string              `json:"phone_numbers" maxItems:"100" example:"[\"+14155550123\"]" doc:"E.164 numbers to port in, each portable (GET /v1/sip/port/check)."`
	AuthorizedRepresentative SIPPortRepresentative `json:"authorized_representative"`
	ServiceAddress           SIPPortAddress        `json:"service_address"`
	TargetDate               string                `json:"target_date" format:"date" example:"2027-01-15" doc:"Requested port date, at least 7 days out."`
	DocumentID               string                `json:"document_id" example:"doc_0b1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e" doc:"The letter of authorization (POST /v1/sip/port/document)."`
	WebhookURL               string                `json:"webhook_url,omitempty" format:"uri" example:"https://example.com/hooks/port" doc:"Receives a JSON POST on each status change."`
}

// SIPPortEvent is one status change of a port.
type SIPPortEvent struct {
	Status string  `json:"status" example:"submitted"`
	Reason *string `json:"reason"`
	At     string  `json:"at" format:"date-time"`
}

// SIPPortView is a port request.
type SIPPortView struct {
	PortID                   string                `json:"port_id" example:"port_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
	Status                   string                `json:"status" enum:"waiting_for_signature,submitted,in_progress,completed,failed,canceled" doc:"waiting_for_signature → submitted → in_progress → completed or failed; canceled from any state before those."`
	PhoneNumbers             []string              `json:"phone_numbers" example:"[\"+14155550123\"]"`
	AuthorizedRepresentative SIPPortRepresentative `json:"authorized_representative"`
	ServiceAddress           SIPPortAddress        `json:"service_address"`
	TargetDate               string                `json:"target_date" format:"date" example:"2027-01-15"`
	DocumentID               string                `json:"document_id"`
	WebhookURL               *string               `json:"webhook_url"`
	Reason                   *string               `json:"reason" doc:"Why it failed or was canceled."`
	History                  []SIPPortEvent        `json:"history" doc:"Every status it went through, oldest first."`
	CreatedAt                string                `json:"created_at" format:"date-time"`
	UpdatedAt                string                `json:"updated_at" format:"date-time"`
}

// SIPPortList is GET /v1/sip/port's data.
type SIPPortList struct {
	Ports []SIPPortView `json:"ports"`
}

// SIPPortAdvanceRequest is the operator's status change.
type SIPPortAdvanceRequest struct {
	Status string `json:"status" enum:"submitted,in_progress,completed,failed,canceled" example:"submitted"`
	Reason string `json:"reason,omitempty" maxLength:"500" example:"losing carrier confirmed FOC date"`
}

func portView(p store.Port) SIPPortView {
	r, a := p.Representative, p.ServiceAddress
	v := SIPPortView{PortID: p.ID, Status: p.Status, PhoneNumbers: p.Numbers, TargetDate: p.TargetDate, DocumentID: p.DocumentID,
		AuthorizedRepresentative: SIPPortRepresentative(r), ServiceAddress: SIPPortAddress(a),
		WebhookURL: optStr(p.WebhookURL), Reason: optStr(p.Reason), History: make([]SIPPortEvent, 0, len(p.History)),
		CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: p.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if v.PhoneNumbers == nil {
		v.PhoneNumbers = []string{}
	}
	for _, e := range p.History {
		v.History = append(v.History, SIPPortEvent{Status: e.Status, Reason: optStr(e.Reason), At: e.At.UTC().Format(time.RFC3339Nano)})
	}
	return v
}

// portDocumentInput streams the upload: Huma does not read the body of an
// input without one, so the handler reads it through the limit itself.
type portDocumentInput struct {
	FileName    string `query:"file_name" maxLength:"255" doc:"The file's name when the body is the raw file (multipart uploads name it in the part)." example:"loa.pdf"`
	body        io.Reader
	contentType string
}

func (in *portDocumentInput) Resolve(ctx huma.Context) []error {
	in.body, in.contentType = ctx.BodyReader(), ctx.Header("Content-Type")
	return nil
}

// portDocumentFile returns the uploaded file's reader and name: the
// "file" part of a multipart/form-data body, or the body itself.
func portDocumentFile(in *portDocumentInput) (io.Reader, string, error) {
	body := io.LimitReader(in.body, maxPortUpload)
	mt, params, err := mime.ParseMediaType(in.contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return body, in.FileName, nil
	}
	if params["boundary"] == "" {
		return nil, "", huma.Error400BadRequest("multipart body without a boundary")
	}
	mr := multipart.NewReader(body, params["boundary"])
	for range 8 { // the file part comes among the first few
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if part.FormName() == "file" {
			return part, part.FileName(), nil
		}
	}
	return nil, "", fieldProblem("file", nil, "required: a multipart part named file")
}

func registerSIPPorting(s *Server, op func(id, method, path, summary, desc string, extra ...int) huma.Operation) {
	unavailable := func() error { return huma.Error503ServiceUnavailable("porting is not available on this node") }

	huma.Register(s.api, op("checkSipPort", http.MethodGet, "/v1/sip/port/check", "Check number portability",
		"Whether each number can be ported into this account: a valid E.164 number, not already on this server (ported in, or used by another account), not in an active port."),
		func(ctx context.Context, in *struct {
			PhoneNumbers string `query:"phone_numbers" example:"+14155550123,+14155550124" doc:"Required: up to 100 numbers, comma-separated."`
		}) (*sipOut[SIPPortCheckResult], error) {
			if s.cfg.Porting == nil {
				return nil, unavailable()
			}
			var nums []string
			for n := range strings.SplitSeq(in.PhoneNumbers, ",") {
				if n = strings.TrimSpace(n); n != "" {
					nums = append(nums, n)
				}
			}
			if len(nums) == 0 {
				return nil, queryProblem("phone_numbers", in.PhoneNumbers, "required: one or more numbers, comma-separated")
			}
			if len(nums) > store.MaxNumbersPerRequest {
				return nil, queryProblem("phone_numbers", len(nums), "at most 100 numbers")
			}
			checks, err := s.cfg.Porting.CheckPort(ctx, principal(ctx).AccountID, nums)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out := SIPPortCheckResult{Numbers: checks, AllPortable: true}
			for _, c := range checks {
				out.AllPortable = out.AllPortable && c.Portable
			}
			return &sipOut[SIPPortCheckResult]{Body: sipEnvelope(out)}, nil
		})

	docOp := op("uploadSipPortDocument", http.MethodPost, "/v1/sip/port/document", "Upload a port document",
		"Upload the signed letter of authorization (or a bill) for a port: a PDF or an image (PNG, JPEG, GIF, WebP) of at most 10 MB, as the part named file of a multipart/form-data body or as the raw body. Its type is sniffed from its bytes; the file is kept in the node's data directory. Use document_id in POST /v1/sip/port/initiate.",
		http.StatusRequestEntityTooLarge)
	docOp.MaxBodyBytes = maxPortUpload
	huma.Register(s.api, docOp, func(ctx context.Context, in *portDocumentInput) (*sipOut[SIPPortDocumentView], error) {
		if s.cfg.Porting == nil {
			return nil, unavailable()
		}
		r, name, err := portDocumentFile(in)
		if err != nil {
			return nil, err
		}
		d, err := s.cfg.Porting.SavePortDocument(ctx, principal(ctx).AccountID, name, r)
		switch {
		case errors.Is(err, ErrDocumentTooLarge):
			return nil, huma.Error413RequestEntityTooLarge("file: larger than 10 MB")
		case err != nil:
			return nil, s.sipError(ctx, err)
		}
		return &sipOut[SIPPortDocumentView]{Body: sipEnvelope(SIPPortDocumentView{DocumentID: d.ID, FileName: d.FileName, ContentType: d.ContentType,
			SizeBytes: d.Size, SHA256: d.SHA256, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano)})}, nil
	})
	docBody := s.api.OpenAPI().Paths["/v1/sip/port/document"].Post
	docBody.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"multipart/form-data": {Schema: &huma.Schema{Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary", Description: "The PDF or image."}}}},
		"application/pdf": {Schema: &huma.Schema{Type: "string", Format: "binary"}},
		"image/png":       {Schema: &huma.Schema{Type: "string", Format: "binary"}},
		"image/jpeg":      {Schema: &huma.Schema{Type: "string", Format: "binary"}},
	}}

	huma.Register(s.api, op("initiateSipPort", http.MethodPost, "/v1/sip/port/initiate", "Initiate a number port",
		"Request a port of numbers into this account: the authorized representative and service address as on the losing carrier's account, a target date at least 7 days out, and the uploaded letter of authorization. The port starts in waiting_for_signature; the node's operator advances it, and webhook_url receives each change. Numbers in another active port are a 409.",
		http.StatusConflict),
		func(ctx context.Context, in *rawJSON) (*sipOut[SIPPortView], error) {
			if s.cfg.Porting == nil {
				return nil, unavailable()
			}
			var body SIPPortRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			p, err := s.cfg.Porting.InitiatePort(ctx, principal(ctx).AccountID, body)
			if errors.Is(err, store.ErrNumberInPort) {
				return nil, huma.Error409Conflict(err.Error())
			}
			if err != nil {
				return nil, s.sipError(ctx, err)
			}
			return &sipOut[SIPPortView]{Body: sipEnvelope(portView(p))}, nil
		})
	s.bodySchema("/v1/sip/port/initiate", http.MethodPost, reflectType[SIPPortRequest](), true)

	huma.Register(s.api, op("listSipPorts", http.MethodGet, "/v1/sip/port", "List number ports",
		"The account's port requests, newest first (at most 100), with their status history; port_id reads one.", http.StatusNotFound),
		func(ctx context.Context, in *struct {
			PortID string `query:"port_id" maxLength:"64" doc:"Only this port (404 when it is not the account's)."`
		}) (*sipOut[SIPPortList], error) {
			if s.cfg.Porting == nil {
				return nil, unavailable()
			}
			acct := principal(ctx).AccountID
			out := SIPPortList{Ports: []SIPPortView{}}
			if in.PortID != "" {
				p, err := s.cfg.Porting.Port(ctx, acct, in.PortID)
				if errors.Is(err, store.ErrNotFound) {
					return nil, huma.Error404NotFound("no port " + in.PortID + " in this account")
				}
				if err != nil {
					return nil, s.internal(ctx, err)
				}
				out.Ports = append(out.Ports, portView(p))
				return &sipOut[SIPPortList]{Body: sipEnvelope(out)}, nil
			}
			ps, err := s.cfg.Porting.Ports(ctx, acct)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			for _, p := range ps {
				out.Ports = append(out.Ports, portView(p))
			}
			return &sipOut[SIPPortList]{Body: sipEnvelope(out)}, nil
		})

	huma.Register(s.api, op("cancelSipPort", http.MethodDelete, "/v1/sip/port/{port_id}", "Cancel a number port",
		"Cancels a port that is not completed, failed or canceled yet (409 then); its numbers are free for another port.",
		http.StatusNotFound, http.StatusConflict),
		func(ctx context.Context, in *struct {
			PortID string `path:"port_id" maxLength:"64" example:"port_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
		}) (*sipOut[SIPPortView], error) {
			if s.cfg.Porting == nil {
				return nil, unavailable()
			}
			p, err := s.cfg.Porting.CancelPort(ctx, principal(ctx).AccountID, in.PortID)
			return s.portResult(ctx, in.PortID, p, err)
		})

	huma.Register(s.api, op("advanceSipPort", http.MethodPost, "/v1/sip/port/{port_id}/advance", "Advance a number port (operator)",
		"The node's operator (an account with the admin feature) moves any account's port as the losing carrier answers: waiting_for_signature → submitted → in_progress → completed or failed, or canceled before that. Other changes are a 409. Completion makes the numbers the account's own on this server (verified, and no other account may attach them; none may attach a number while another account ports it). The port's webhook_url receives each change.",
		http.StatusNotFound, http.StatusConflict),
		func(ctx context.Context, in *struct {
			PortID  string `path:"port_id" maxLength:"64" example:"port_6f1c2d3e4f5a4b6c8d9e0f1a2b3c4d5e"`
			RawBody []byte `contentType:"application/json"`
		}) (*sipOut[SIPPortView], error) {
			if err := s.requireAdmin(ctx); err != nil {
				return nil, err
			}
			if s.cfg.Porting == nil {
				return nil, unavailable()
			}
			var body SIPPortAdvanceRequest
			if err := decodeJSON(in.RawBody, &body); err != nil {
				return nil, err
			}
			p, err := s.cfg.Porting.AdvancePort(ctx, in.PortID, body.Status, body.Reason)
			return s.portResult(ctx, in.PortID, p, err)
		})
	s.bodySchema("/v1/sip/port/{port_id}/advance", http.MethodPost, reflectType[SIPPortAdvanceRequest](), true)
}

func (s *Server) portResult(ctx context.Context, id string, p store.Port, err error) (*sipOut[SIPPortView], error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, huma.Error404NotFound("no port " + id)
	case errors.Is(err, ErrPortTransition):
		return nil, huma.Error409Conflict(err.Error())
	case err != nil:
		return nil, s.sipError(ctx, err)
	}
	return &sipOut[SIPPortView]{Body: sipEnvelope(portView(p))}, nil
}
