package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// Calls is what the Voice API needs from the call engine.
type Calls interface {
	// CreateCall validates and places an outbound call; it returns at once
	// with the call initiated (the answer callback comes later).
	CreateCall(ctx context.Context, accountID string, req CreateCallRequest) (store.CallRecord, error)
	// LiveCall is a call that is up right now.
	LiveCall(accountID, callID string) (store.CallRecord, bool)
	// LiveCalls are the account's calls up right now.
	LiveCalls(accountID string) []store.CallRecord
	// HangupCall ends a live call (BYE, CANCEL or reject, as fits its state).
	HangupCall(accountID, callID string) error
	// RedirectCall interrupts the call's BXML and runs what t answers to a redirect event.
	RedirectCall(accountID, callID string, t bxml.Target) error
	// ReplaceCallBXML interrupts the call's BXML and runs doc instead.
	ReplaceCallBXML(accountID, callID string, doc *bxml.Document) error
}

// ErrCallNotActive is returned by Calls for a call that is not live.
var ErrCallNotActive = errors.New("call is not active")

// ErrCallCapacity is returned by Calls.CreateCall when a concurrent-call cap
// (of the application, of the account) is reached: 429 with Retry-After.
var ErrCallCapacity = errors.New("too many concurrent calls")

// CreateCallRequest is the createCall body, as in the Voice API.
type CreateCallRequest struct {
	To                   string   `json:"to" maxLength:"1024" example:"sip:alice@sip.example.com" doc:"A SIP URI (sip: or sips:), or an E.164 number routed through a SIP trunk."`
	From                 string   `json:"from" maxLength:"256" example:"+15555551212" doc:"Caller ID: an E.164 number, a SIP URI, or Restricted, Anonymous, Private, Unavailable."`
	DisplayName          *string  `json:"displayName,omitempty" maxLength:"256" nullable:"true"`
	UUI                  *string  `json:"uui,omitempty" maxLength:"350" nullable:"true" doc:"User-to-User header values (RFC 7433), comma separated."`
	ApplicationID        string   `json:"applicationId" maxLength:"64" example:"1d3e2f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"`
	AnswerURL            string   `json:"answerUrl" maxLength:"2048" format:"uri" example:"https://example.com/voice/answer"`
	AnswerMethod         *string  `json:"answerMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	Username             *string  `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password             *string  `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	AnswerFallbackURL    *string  `json:"answerFallbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	AnswerFallbackMethod *string  `json:"answerFallbackMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	FallbackUsername     *string  `json:"fallbackUsername,omitempty" maxLength:"1024" nullable:"true"`
	FallbackPassword     *string  `json:"fallbackPassword,omitempty" maxLength:"1024" nullable:"true"`
	DisconnectURL        *string  `json:"disconnectUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	DisconnectMethod     *string  `json:"disconnectMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	CallTimeout          *float64 `json:"callTimeout,omitempty" minimum:"1" maximum:"300" nullable:"true" default:"30"`
	CallbackTimeout      *float64 `json:"callbackTimeout,omitempty" minimum:"1" maximum:"25" nullable:"true" default:"15"`
	Priority             *int     `json:"priority,omitempty" minimum:"1" maximum:"5" nullable:"true" default:"5"`
	Tag                  *string  `json:"tag,omitempty" maxLength:"256" nullable:"true"`
}

// CreateCallResponse is the createCall answer.
type CreateCallResponse struct {
	ApplicationID        string     `json:"applicationId"`
	AccountID            string     `json:"accountId"`
	CallID               string     `json:"callId" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
	To                   string     `json:"to"`
	From                 string     `json:"from"`
	EnqueuedTime         *time.Time `json:"enqueuedTime" nullable:"true"`
	CallURL              string     `json:"callUrl" format:"uri"`
	CallTimeout          float64    `json:"callTimeout"`
	CallbackTimeout      float64    `json:"callbackTimeout"`
	Tag                  *string    `json:"tag" nullable:"true"`
	AnswerMethod         string     `json:"answerMethod"`
	AnswerURL            string     `json:"answerUrl" format:"uri"`
	AnswerFallbackMethod *string    `json:"answerFallbackMethod" nullable:"true"`
	AnswerFallbackURL    *string    `json:"answerFallbackUrl" nullable:"true"`
	DisconnectMethod     string     `json:"disconnectMethod"`
	DisconnectURL        *string    `json:"disconnectUrl" nullable:"true"`
	Username             *string    `json:"username" nullable:"true"`
	Password             *string    `json:"password" nullable:"true"`
	FallbackUsername     *string    `json:"fallbackUsername" nullable:"true"`
	FallbackPassword     *string    `json:"fallbackPassword" nullable:"true"`
	Priority             *int       `json:"priority" nullable:"true"`
}

// CallState is a call as getCallState and listCalls show it.
type CallState struct {
	ApplicationID   string     `json:"applicationId"`
	AccountID       string     `json:"accountId"`
	CallID          string     `json:"callId"`
	ParentCallID    *string    `json:"parentCallId" nullable:"true"`
	To              string     `json:"to"`
	From            string     `json:"from"`
	Direction       string     `json:"direction" enum:"inbound,outbound"`
	State           string     `json:"state" example:"disconnected" doc:"initiated, answered or disconnected (more may come: tolerate unknown values)."`
	EnqueuedTime    *time.Time `json:"enqueuedTime" nullable:"true"`
	StartTime       time.Time  `json:"startTime"`
	AnswerTime      *time.Time `json:"answerTime" nullable:"true"`
	EndTime         *time.Time `json:"endTime" nullable:"true"`
	DisconnectCause *string    `json:"disconnectCause" nullable:"true" example:"hangup"`
	ErrorMessage    *string    `json:"errorMessage" nullable:"true"`
	ErrorID         *string    `json:"errorId" nullable:"true"`
	LastUpdate      time.Time  `json:"lastUpdate"`
}

// UpdateCallRequest is the updateCall body.
type UpdateCallRequest struct {
	State                  *string `json:"state,omitempty" enum:"active,completed" nullable:"true" default:"active"`
	RedirectURL            *string `json:"redirectUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	RedirectMethod         *string `json:"redirectMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	Username               *string `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password               *string `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	RedirectFallbackURL    *string `json:"redirectFallbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	RedirectFallbackMethod *string `json:"redirectFallbackMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	FallbackUsername       *string `json:"fallbackUsername,omitempty" maxLength:"1024" nullable:"true"`
	FallbackPassword       *string `json:"fallbackPassword,omitempty" maxLength:"1024" nullable:"true"`
	Tag                    *string `json:"tag,omitempty" maxLength:"256" nullable:"true"`
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toCallState(c store.CallRecord) CallState {
	return CallState{
		ApplicationID: c.ApplicationID, AccountID: c.AccountID, CallID: c.ID, ParentCallID: optStr(c.ParentCallID),
		To: c.To, From: c.From, Direction: c.Direction, State: c.State, EnqueuedTime: optTime(c.EnqueuedTime),
		StartTime: c.StartTime, AnswerTime: optTime(c.AnswerTime), EndTime: optTime(c.EndTime),
		DisconnectCause: optStr(c.DisconnectCause), ErrorMessage: optStr(c.ErrorMessage), ErrorID: optStr(c.ErrorID),
		LastUpdate: c.LastUpdate,
	}
}

// CallPath is the {accountId} and {callId} path parameters.
type CallPath struct {
	AccountPath
	CallID string `path:"callId" maxLength:"64" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
}

func registerCalls(s *Server) {
	const base = "/api/v2/accounts/{accountId}/calls"
	tags := []string{"Calls"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(s.api, huma.Operation{
		OperationID: "createCall", Method: http.MethodPost, Path: base, Summary: "Create a call",
		Description: "Places an outbound call. When the callee answers, the answer callback goes to answerUrl and its BXML runs.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusTooManyRequests), DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		AccountPath
		Body CreateCallRequest
	}) (*struct {
		Location string `header:"Location"`
		Body     CreateCallResponse
	}, error) {
		rec, err := s.cfg.Calls.CreateCall(ctx, in.AccountID, in.Body)
		if err != nil {
			return nil, s.callError(ctx, err)
		}
		r := in.Body
		out := CreateCallResponse{
			ApplicationID: rec.ApplicationID, AccountID: rec.AccountID, CallID: rec.ID, To: rec.To, From: rec.From,
			EnqueuedTime: optTime(rec.EnqueuedTime), CallURL: s.callURL(rec), CallTimeout: orF(r.CallTimeout, 30),
			CallbackTimeout: orF(r.CallbackTimeout, 15), Tag: r.Tag, AnswerMethod: orS(r.AnswerMethod, "POST"),
			AnswerURL: r.AnswerURL, AnswerFallbackMethod: ptrOr(r.AnswerFallbackMethod, "POST"), AnswerFallbackURL: r.AnswerFallbackURL,
			DisconnectMethod: orS(r.DisconnectMethod, "POST"), DisconnectURL: r.DisconnectURL, Username: r.Username,
			Password: r.Password, FallbackUsername: r.FallbackUsername, FallbackPassword: r.FallbackPassword, Priority: r.Priority,
		}
		return &struct {
			Location string `header:"Location"`
			Body     CreateCallResponse
		}{Location: out.CallURL, Body: out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getCallState", Method: http.MethodGet, Path: base + "/{callId}", Summary: "Get call state information",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *CallPath) (*struct{ Body CallState }, error) {
		if rec, ok := s.cfg.Calls.LiveCall(in.AccountID, in.CallID); ok {
			return &struct{ Body CallState }{toCallState(rec)}, nil
		}
		rec, err := s.cfg.Store.Call(ctx, in.AccountID, in.CallID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "call "+in.CallID)
		}
		return &struct{ Body CallState }{toCallState(rec)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "listCalls", Method: http.MethodGet, Path: base, Summary: "Get calls",
		Description: "Calls of the account, oldest first: live calls on the first page, then ended ones. A Link header with rel=\"next\" points to the next page.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *struct {
		AccountPath
		To              string    `query:"to" maxLength:"1024" doc:"Filter by the called number or URI."`
		From            string    `query:"from" maxLength:"1024" doc:"Filter by the calling number."`
		MinStartTime    time.Time `query:"minStartTime" doc:"Calls that started at or after this time (ISO 8601)."`
		MaxStartTime    time.Time `query:"maxStartTime" doc:"Calls that started at or before this time (ISO 8601)."`
		DisconnectCause string    `query:"disconnectCause" maxLength:"64"`
		PageSize        int       `query:"pageSize" minimum:"1" maximum:"10000" default:"1000"`
		PageToken       string    `query:"pageToken" maxLength:"512"`
	}) (*struct {
		Link string `header:"Link"`
		Body []CallState
	}, error) {
		f := store.CallFilter{To: in.To, From: in.From, MinStartTime: in.MinStartTime, MaxStartTime: in.MaxStartTime,
			DisconnectCause: in.DisconnectCause, PageSize: in.PageSize, PageToken: in.PageToken}
		page, err := s.cfg.Store.Calls(ctx, in.AccountID, f)
		if errors.Is(err, store.ErrBadPageToken) {
			return nil, huma.Error400BadRequest("invalid pageToken", &huma.ErrorDetail{Location: "query.pageToken", Message: "not a token this server made"})
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := []CallState{}
		if in.PageToken == "" && in.DisconnectCause == "" {
			for _, rec := range s.cfg.Calls.LiveCalls(in.AccountID) {
				if matchesLive(rec, f) {
					out = append(out, toCallState(rec))
				}
			}
		}
		for _, rec := range page.Calls {
			out = append(out, toCallState(rec))
		}
		link := ""
		if page.NextPageToken != "" {
			link = fmt.Sprintf(`<%s/api/v2/accounts/%s/calls?pageSize=%d&pageToken=%s>; rel="next"`, s.cfg.PublicURL, in.AccountID, in.PageSize, page.NextPageToken)
		}
		return &struct {
			Link string `header:"Link"`
			Body []CallState
		}{Link: link, Body: out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateCall", Method: http.MethodPost, Path: base + "/{callId}", Summary: "Update a call",
		Description: "state: completed hangs the call up; redirectUrl interrupts its BXML and runs what the redirect callback answers.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusConflict), MaxBodyBytes: 16 << 10,
	}, func(ctx context.Context, in *struct {
		CallPath
		Body UpdateCallRequest
	}) (*struct{}, error) {
		b := in.Body
		if b.State != nil && *b.State == "completed" {
			if err := s.cfg.Calls.HangupCall(in.AccountID, in.CallID); err != nil {
				return nil, s.callError(ctx, err)
			}
			return nil, nil
		}
		if b.RedirectURL == nil || *b.RedirectURL == "" {
			return nil, huma.Error400BadRequest("redirectUrl is required unless state is completed", &huma.ErrorDetail{Location: "body.redirectUrl", Message: "required"})
		}
		t := bxml.Target{URL: *b.RedirectURL, Method: orS(b.RedirectMethod, "POST"), FallbackURL: orS(b.RedirectFallbackURL, ""),
			FallbackMethod: orS(b.RedirectFallbackMethod, "POST"), Username: orS(b.Username, ""), Password: orS(b.Password, ""),
			FallbackUsername: orS(b.FallbackUsername, ""), FallbackPassword: orS(b.FallbackPassword, "")}
		if err := s.cfg.Calls.RedirectCall(in.AccountID, in.CallID, t); err != nil {
			return nil, s.callError(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateCallBxml", Method: http.MethodPut, Path: base + "/{callId}/bxml", Summary: "Update a call's BXML",
		Description: "Interrupts the call's running BXML and runs this document (root element <Bxml>) instead.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusConflict), DefaultStatus: http.StatusNoContent, MaxBodyBytes: 1 << 20,
	}, func(ctx context.Context, in *struct {
		CallPath
		RawBody []byte `contentType:"application/xml"`
	}) (*struct{}, error) {
		doc, err := bxml.Parse(in.RawBody)
		if err != nil {
			return nil, huma.Error400BadRequest("invalid BXML: "+err.Error(), &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		if err := bxml.CheckSupported(doc); err != nil {
			return nil, huma.Error400BadRequest(err.Error(), &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		if err := s.cfg.Calls.ReplaceCallBXML(in.AccountID, in.CallID, doc); err != nil {
			return nil, s.callError(ctx, err)
		}
		return nil, nil
	})
	registerRecordings(s, base, errs)
}

func matchesLive(c store.CallRecord, f store.CallFilter) bool {
	return (f.To == "" || c.To == f.To) && (f.From == "" || c.From == f.From) &&
		(f.MinStartTime.IsZero() || !c.StartTime.Before(f.MinStartTime)) &&
		(f.MaxStartTime.IsZero() || !c.StartTime.After(f.MaxStartTime))
}

func (s *Server) callURL(c store.CallRecord) string {
	return s.cfg.PublicURL + "/api/v2/accounts/" + c.AccountID + "/calls/" + c.ID
}

func (s *Server) callError(ctx context.Context, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return validationProblem(err)
	case errors.Is(err, ErrCallNotActive), errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, ErrCallCapacity):
		return &retryAfter{huma.NewError(http.StatusTooManyRequests, err.Error()), 5 * time.Second}
	}
	return s.internal(ctx, err)
}

func orS(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

func ptrOr(p *string, def string) *string {
	v := orS(p, def)
	return &v
}

func orF(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// CallRecording is a recording's metadata, as the Voice API shows it.
type CallRecording struct {
	ApplicationID string    `json:"applicationId"`
	AccountID     string    `json:"accountId"`
	CallID        string    `json:"callId"`
	ParentCallID  *string   `json:"parentCallId" nullable:"true"`
	RecordingID   string    `json:"recordingId"`
	To            string    `json:"to"`
	From          string    `json:"from"`
	Duration      string    `json:"duration" example:"PT13.67S" doc:"ISO 8601 duration."`
	Direction     string    `json:"direction" enum:"inbound,outbound"`
	Channels      int       `json:"channels"`
	StartTime     time.Time `json:"startTime"`
	EndTime       time.Time `json:"endTime"`
	FileFormat    string    `json:"fileFormat" enum:"wav,mp3"`
	Status        string    `json:"status" example:"complete"`
	MediaURL      string    `json:"mediaUrl" format:"uri"`
	// Transcription is set by withTranscriptions (api/transcriptions.go).
	Transcription *RecordingTranscriptionMetadata `json:"transcription,omitempty" doc:"The recording's transcription, absent when it has none."`
}

func (s *Server) toCallRecording(r store.RecordingRecord) CallRecording {
	return CallRecording{
		ApplicationID: r.ApplicationID, AccountID: r.AccountID, CallID: r.CallID, ParentCallID: optStr(r.ParentCallID),
		RecordingID: r.ID, To: r.To, From: r.From, Duration: fmt.Sprintf("PT%gS", float64(r.DurationMS)/1000),
		Direction: r.Direction, Channels: r.Channels, StartTime: r.StartTime, EndTime: r.EndTime, FileFormat: r.FileFormat,
		Status: r.Status, MediaURL: s.cfg.PublicURL + "/api/v2/accounts/" + r.AccountID + "/calls/" + r.CallID + "/recordings/" + r.ID + "/media",
	}
}

// RecordingPath is the path of one recording.
type RecordingPath struct {
	CallPath
	RecordingID string `path:"recordingId" maxLength:"64" example:"r-fbe05094-9fd2afe9-bf5b-4c68-820a-41a01c1c5833"`
}

func registerRecordings(s *Server, base string, errs []int) {
	tags := []string{"Recordings"}
	huma.Register(s.api, huma.Operation{
		OperationID: "listCallRecordings", Method: http.MethodGet, Path: base + "/{callId}/recordings", Summary: "Get call recordings",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *CallPath) (*struct{ Body []CallRecording }, error) {
		rs, err := s.cfg.Store.CallRecordings(ctx, in.AccountID, in.CallID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]CallRecording, 0, len(rs))
		for _, r := range rs {
			out = append(out, s.toCallRecording(r))
		}
		if err := s.withTranscriptions(ctx, in.AccountID, in.CallID, out); err != nil {
			return nil, s.internal(ctx, err)
		}
		return &struct{ Body []CallRecording }{out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getCallRecording", Method: http.MethodGet, Path: base + "/{callId}/recordings/{recordingId}", Summary: "Get a call recording",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *RecordingPath) (*struct{ Body CallRecording }, error) {
		r, err := s.cfg.Store.Recording(ctx, in.AccountID, in.CallID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "recording "+in.RecordingID)
		}
		out := []CallRecording{s.toCallRecording(r)}
		if err := s.withTranscriptions(ctx, in.AccountID, in.CallID, out); err != nil {
			return nil, s.internal(ctx, err)
		}
		return &struct{ Body CallRecording }{out[0]}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "downloadCallRecording", Method: http.MethodGet, Path: base + "/{callId}/recordings/{recordingId}/media", Summary: "Download a recording",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *RecordingPath) (*huma.StreamResponse, error) {
		r, err := s.cfg.Store.Recording(ctx, in.AccountID, in.CallID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "recording "+in.RecordingID)
		}
		f, err := os.Open(r.FilePath)
		if err != nil {
			return nil, s.lookupError(ctx, fmt.Errorf("recording file: %w", store.ErrNotFound), "recording media "+in.RecordingID)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			defer f.Close()
			hctx.SetHeader("Content-Type", "audio/vnd.wave")
			if st, err := f.Stat(); err == nil {
				hctx.SetHeader("Content-Length", fmt.Sprint(st.Size()))
			}
			hctx.SetStatus(http.StatusOK)
			buf := make([]byte, 32<<10)
			w := hctx.BodyWriter()
			for {
				n, err := f.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteRecording", Method: http.MethodDelete, Path: base + "/{callId}/recordings/{recordingId}", Summary: "Delete a recording",
		Description: "Deletes the recording's metadata and media.",
		Tags:        tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *RecordingPath) (*struct{}, error) {
		r, err := s.cfg.Store.DeleteRecording(ctx, in.AccountID, in.CallID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "recording "+in.RecordingID)
		}
		if err := os.Remove(r.FilePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.WarnContext(ctx, "remove recording file", "path", r.FilePath, "error", err)
		}
		return nil, nil
	})
}
