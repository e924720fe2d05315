package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// The createCall route: every field of the spec's createCall body is taken
// and honoured (see the field docs for how), and a field the spec does not
// have is a 400 naming it.

// CreateCallRequest is the createCall body, as in the Voice API.
type CreateCallRequest struct {
	To                   string   `json:"to" maxLength:"1024" example:"sip:alice@sip.example.com" doc:"A SIP URI (sip: or sips:), or an E.164 number routed through a SIP trunk."`
	From                 string   `json:"from" maxLength:"256" example:"+15555551212" doc:"Caller ID: an E.164 number, a SIP URI, or Restricted, Anonymous, Private, Unavailable."`
	Privacy              *bool    `json:"privacy,omitempty" nullable:"true" doc:"Hide the caller ID: the INVITE's From is sip:anonymous@anonymous.invalid (with displayName, else Anonymous) and says Privacy: id; the from number goes in P-Asserted-Identity for the trunk."`
	DisplayName          *string  `json:"displayName,omitempty" maxLength:"256" nullable:"true" doc:"Display name of the INVITE's From."`
	UUI                  *string  `json:"uui,omitempty" maxLength:"350" nullable:"true" doc:"User-to-User header values (RFC 7433), comma separated, sent as the INVITE's User-to-User header."`
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
	CallTimeout          *float64 `json:"callTimeout,omitempty" minimum:"1" maximum:"300" nullable:"true" default:"30" doc:"Seconds the callee may ring before the call ends with cause timeout."`
	CallbackTimeout      *float64 `json:"callbackTimeout,omitempty" minimum:"1" maximum:"25" nullable:"true" default:"15" doc:"Seconds the answer callback may take."`
	Priority             *int     `json:"priority,omitempty" minimum:"1" maximum:"5" nullable:"true" default:"5" doc:"Queue priority. This node dials every call at once (no queue: past the account's cap createCall answers 429), so there is nothing to order; the value is kept and echoed."`
	Tag                  *string  `json:"tag,omitempty" maxLength:"4096" nullable:"true" doc:"Sent with every callback of the call until BXML or updateCall changes it."`

	MachineDetection *MachineDetection `json:"machineDetection,omitempty"`
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

type createCallOutput struct {
	Location string `header:"Location"`
	Body     CreateCallResponse
}

func registerCreateCall(s *Server, base string, tags []string, errs []int) {
	huma.Register(s.api, huma.Operation{
		OperationID: "createCall", Method: http.MethodPost, Path: base, Summary: "Create a call",
		Description: "Places an outbound call. When the callee answers, the answer callback goes to answerUrl and its BXML runs.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusTooManyRequests), DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		AccountPath
		Body CreateCallRequest
	}) (*createCallOutput, error) {
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
		if out.Priority == nil {
			p := 5
			out.Priority = &p
		}
		return &createCallOutput{Location: out.CallURL, Body: out}, nil
	})
}
