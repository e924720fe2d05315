package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// ConferenceControl is what the conference routes need from the call
// engine; the store answers the reads.
type ConferenceControl interface {
	// CompleteConference ends a live conference: every member leaves it
	// and goes on with its BXML.
	CompleteConference(accountID, id string) error
	// RedirectConference sends conferenceRedirect to t and runs the BXML it
	// answers against the conference.
	RedirectConference(accountID, id string, t bxml.Target) error
	// ReplaceConferenceBXML runs doc against the conference.
	ReplaceConferenceBXML(accountID, id string, doc *bxml.Document) error
	// UpdateConferenceMember mutes, holds or sets whom a member coaches
	// (nil: unchanged).
	UpdateConferenceMember(accountID, id, callID string, u ConferenceMemberUpdate) error
}

// ErrConferenceNotActive is returned by ConferenceControl for a conference
// that is not live; ErrNotConferenceMember for a call not in it.
var (
	ErrConferenceNotActive = errors.New("conference is not active")
	ErrNotConferenceMember = errors.New("call is not a member of the conference")
)

func (noEngine) CompleteConference(string, string) error { return ErrConferenceNotActive }
func (noEngine) RedirectConference(string, string, bxml.Target) error {
	return ErrConferenceNotActive
}
func (noEngine) ReplaceConferenceBXML(string, string, *bxml.Document) error {
	return ErrConferenceNotActive
}
func (noEngine) UpdateConferenceMember(string, string, string, ConferenceMemberUpdate) error {
	return ErrConferenceNotActive
}

// Conference is a conference as the Voice API shows it.
type Conference struct {
	ID                    string             `json:"id" example:"conf-fe23a767-a75a5b77-20c5-4cca-b581-cbbf0776eca9"`
	Name                  string             `json:"name" example:"my-conference-name"`
	CreatedTime           time.Time          `json:"createdTime"`
	CompletedTime         *time.Time         `json:"completedTime" nullable:"true"`
	ConferenceEventURL    *string            `json:"conferenceEventUrl" nullable:"true" format:"uri" example:"https://myServer.example/bandwidth/webhooks/conferenceEvent"`
	ConferenceEventMethod *string            `json:"conferenceEventMethod" nullable:"true" enum:"GET,POST"`
	Tag                   *string            `json:"tag" nullable:"true" example:"my custom tag"`
	ActiveMembers         []ConferenceMember `json:"activeMembers" nullable:"true" doc:"The members in the conference now (getConference only; null in lists)."`
}

// ConferenceMember is one call's membership of a conference.
type ConferenceMember struct {
	CallID         string   `json:"callId" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
	ConferenceID   string   `json:"conferenceId" example:"conf-fe23a767-a75a5b77-20c5-4cca-b581-cbbf0776eca9"`
	MemberURL      string   `json:"memberUrl" format:"uri"`
	Mute           bool     `json:"mute"`
	Hold           bool     `json:"hold"`
	CallIDsToCoach []string `json:"callIdsToCoach" nullable:"true"`
}

// UpdateConferenceRequest is the updateConference body.
type UpdateConferenceRequest struct {
	Status                 *string `json:"status,omitempty" enum:"active,completed" nullable:"true" default:"active" example:"completed"`
	RedirectURL            *string `json:"redirectUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true" example:"https://myServer.example/bandwidth/webhooks/conferenceRedirect"`
	RedirectMethod         *string `json:"redirectMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	Username               *string `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password               *string `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	RedirectFallbackURL    *string `json:"redirectFallbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	RedirectFallbackMethod *string `json:"redirectFallbackMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	FallbackUsername       *string `json:"fallbackUsername,omitempty" maxLength:"1024" nullable:"true"`
	FallbackPassword       *string `json:"fallbackPassword,omitempty" maxLength:"1024" nullable:"true"`
}

// ConferenceMemberUpdate is the updateConferenceMember body.
type ConferenceMemberUpdate struct {
	Mute           *bool     `json:"mute,omitempty" example:"true"`
	Hold           *bool     `json:"hold,omitempty" example:"false"`
	CallIDsToCoach *[]string `json:"callIdsToCoach,omitempty" nullable:"true" maxItems:"50" example:"[\"c-25ac29a2-1331029c-2cb0-4a07-b215-b22865662d85\"]" doc:"Replaces whom the member coaches; an empty list (or null) makes it a normal member."`
}

// ConferenceRecording is a recording of a conference's mix
// (conferenceRecordingMetadata).
type ConferenceRecording struct {
	AccountID     string    `json:"accountId"`
	ConferenceID  string    `json:"conferenceId"`
	Name          string    `json:"name" doc:"The conference's name."`
	RecordingID   string    `json:"recordingId"`
	Duration      string    `json:"duration" example:"PT13.67S"`
	Channels      int       `json:"channels" format:"int32" example:"1"`
	StartTime     time.Time `json:"startTime"`
	EndTime       time.Time `json:"endTime"`
	FileFormat    string    `json:"fileFormat" enum:"mp3,wav"`
	Status        string    `json:"status" example:"complete"`
	MediaURL      string    `json:"mediaUrl" format:"uri"`
	RecordingName string    `json:"recordingName,omitempty"`
}

// ConferencePath is the {accountId} and {conferenceId} path parameters.
type ConferencePath struct {
	AccountPath
	ConferenceID string `path:"conferenceId" maxLength:"64" example:"conf-fe23a767-a75a5b77-20c5-4cca-b581-cbbf0776eca9"`
}

// ConferenceMemberPath adds {memberId} (the member's callId).
type ConferenceMemberPath struct {
	ConferencePath
	MemberID string `path:"memberId" maxLength:"64" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
}

// ConferenceRecordingPath adds {recordingId}.
type ConferenceRecordingPath struct {
	ConferencePath
	RecordingID string `path:"recordingId" maxLength:"64" example:"r-fbe05094-9fd2afe9-bf5b-4c68-820a-41a01c1c5833"`
}

func (s *Server) conferenceURL(accountID, id string) string {
	return s.cfg.PublicURL + "/api/v2/accounts/" + accountID + "/conferences/" + id
}

func (s *Server) toConferenceMember(accountID string, m store.ConferenceMemberRecord) ConferenceMember {
	return ConferenceMember{CallID: m.CallID, ConferenceID: m.ConferenceID, MemberURL: s.conferenceURL(accountID, m.ConferenceID) + "/members/" + m.CallID,
		Mute: m.Mute, Hold: m.Hold, CallIDsToCoach: m.CallIDsToCoach}
}

func (s *Server) toConference(c store.ConferenceRecord, members bool) Conference {
	out := Conference{ID: c.ID, Name: c.Name, CreatedTime: c.CreatedTime, ConferenceEventURL: optStr(c.ConferenceEventURL),
		ConferenceEventMethod: optStr(c.ConferenceEventMethod), Tag: optStr(c.Tag)}
	if c.ConferenceEventURL != "" && c.ConferenceEventMethod == "" {
		out.ConferenceEventMethod = ptrOr(nil, "POST")
	}
	if c.CompletedTime.Valid {
		t := c.CompletedTime.Time.UTC()
		out.CompletedTime = &t
	}
	if members {
		out.ActiveMembers = []ConferenceMember{}
		for _, m := range c.ActiveMembers {
			out.ActiveMembers = append(out.ActiveMembers, s.toConferenceMember(c.AccountID, m))
		}
	}
	return out
}

func (s *Server) toConferenceRecording(r store.ConferenceRecordingRecord) ConferenceRecording {
	return ConferenceRecording{AccountID: r.AccountID, ConferenceID: r.ConferenceID, Name: r.ConferenceName, RecordingID: r.ID,
		Duration: fmt.Sprintf("PT%gS", float64(r.DurationMS)/1000), Channels: r.Channels, StartTime: r.StartTime, EndTime: r.EndTime,
		FileFormat: r.FileFormat, Status: r.Status, MediaURL: s.conferenceURL(r.AccountID, r.ConferenceID) + "/recordings/" + r.ID + "/media",
		RecordingName: r.Name}
}

func (s *Server) conferenceError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrConferenceNotActive), errors.Is(err, ErrNotConferenceMember), errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	}
	return s.internal(ctx, err)
}

func registerConferences(s *Server) {
	const base = "/api/v2/accounts/{accountId}/conferences"
	tags := []string{"Conferences"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(s.api, huma.Operation{
		OperationID: "listConferences", Method: http.MethodGet, Path: base, Summary: "Get conferences",
		Description: "The account's conferences, live and completed, oldest first, filtered by name and created time. " +
			"A Link header with rel=\"next\" points to the next page. activeMembers is null here; getConference lists them.",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *struct {
		AccountPath
		Name           string    `query:"name" maxLength:"100" doc:"Conferences of this name."`
		MinCreatedTime time.Time `query:"minCreatedTime" doc:"Conferences created at or after this time (ISO 8601)."`
		MaxCreatedTime time.Time `query:"maxCreatedTime" doc:"Conferences created at or before this time (ISO 8601)."`
		PageSize       int       `query:"pageSize" minimum:"1" maximum:"1000" default:"1000"`
		PageToken      string    `query:"pageToken" maxLength:"512"`
	}) (*struct {
		Link string `header:"Link"`
		Body []Conference
	}, error) {
		page, err := s.cfg.Store.Conferences(ctx, in.AccountID, store.ConferenceFilter{Name: in.Name, MinCreatedTime: in.MinCreatedTime,
			MaxCreatedTime: in.MaxCreatedTime, PageSize: in.PageSize, PageToken: in.PageToken})
		if errors.Is(err, store.ErrBadPageToken) {
			return nil, huma.Error400BadRequest("invalid pageToken", &huma.ErrorDetail{Location: "query.pageToken", Message: "not a token this server made"})
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]Conference, 0, len(page.Conferences))
		for _, c := range page.Conferences {
			out = append(out, s.toConference(c, false))
		}
		return &struct {
			Link string `header:"Link"`
			Body []Conference
		}{Link: s.nextLink(in.AccountID, "conferences", in.PageSize, page.NextPageToken), Body: out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getConference", Method: http.MethodGet, Path: base + "/{conferenceId}", Summary: "Get conference information",
		Description: "A conference, live or completed, with the members in it now.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *ConferencePath) (*struct{ Body Conference }, error) {
		c, err := s.cfg.Store.Conference(ctx, in.AccountID, in.ConferenceID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "conference "+in.ConferenceID)
		}
		return &struct{ Body Conference }{s.toConference(c, true)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateConference", Method: http.MethodPost, Path: base + "/{conferenceId}", Summary: "Update conference",
		Description: "status: completed ends the conference (every member leaves it and goes on with its BXML); " +
			"redirectUrl sends conferenceRedirect there and runs the BXML it answers against the conference. 404 when the conference is not live.",
		Tags: tags, Security: bearerBasic, Errors: errs, MaxBodyBytes: 16 << 10, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *struct {
		ConferencePath
		Body UpdateConferenceRequest
	}) (*struct{}, error) {
		b := in.Body
		if b.Status != nil && *b.Status == "completed" {
			return nil, s.conferenceErrorOrNil(ctx, s.cfg.Conferences.CompleteConference(in.AccountID, in.ConferenceID))
		}
		if b.RedirectURL == nil || *b.RedirectURL == "" {
			return nil, huma.Error400BadRequest("redirectUrl is required unless status is completed", &huma.ErrorDetail{Location: "body.redirectUrl", Message: "required"})
		}
		t := redirectTarget(*b.RedirectURL, b.RedirectMethod, b.RedirectFallbackURL, b.RedirectFallbackMethod,
			b.Username, b.Password, b.FallbackUsername, b.FallbackPassword)
		return nil, s.conferenceErrorOrNil(ctx, s.cfg.Conferences.RedirectConference(in.AccountID, in.ConferenceID, t))
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateConferenceBxml", Method: http.MethodPut, Path: base + "/{conferenceId}/bxml", Summary: "Update conference BXML",
		Description: "Runs this document (root <Bxml>) against the live conference, stopping the one running: PlayAudio and SpeakSentence play to " +
			"every member not on hold; StartRecording, StopRecording, PauseRecording and ResumeRecording record the mix; Tag sets the conference's tag.",
		Tags: tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusNoContent, MaxBodyBytes: 1 << 20,
	}, func(ctx context.Context, in *struct {
		ConferencePath
		RawBody []byte `contentType:"application/xml"`
	}) (*struct{}, error) {
		doc, err := bxml.Parse(in.RawBody)
		if err == nil {
			err = bxml.CheckConference(doc)
		}
		if err != nil {
			return nil, huma.Error400BadRequest("invalid BXML: "+err.Error(), &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		return nil, s.conferenceErrorOrNil(ctx, s.cfg.Conferences.ReplaceConferenceBXML(in.AccountID, in.ConferenceID, doc))
	})
	registerConferenceMembers(s, base, tags, errs)
	registerConferenceRecordings(s, base, tags, errs)
}

func (s *Server) conferenceErrorOrNil(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return s.conferenceError(ctx, err)
}

func registerConferenceMembers(s *Server, base string, tags []string, errs []int) {
	huma.Register(s.api, huma.Operation{
		OperationID: "getConferenceMember", Method: http.MethodGet, Path: base + "/{conferenceId}/members/{memberId}", Summary: "Get conference member",
		Description: "A member of the conference (memberId is its callId), in it now or gone.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *ConferenceMemberPath) (*struct{ Body ConferenceMember }, error) {
		m, err := s.cfg.Store.ConferenceMember(ctx, in.AccountID, in.ConferenceID, in.MemberID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "conference member "+in.MemberID)
		}
		return &struct{ Body ConferenceMember }{s.toConferenceMember(in.AccountID, m)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateConferenceMember", Method: http.MethodPut, Path: base + "/{conferenceId}/members/{memberId}", Summary: "Update conference member",
		Description: "mute: others stop hearing the member (it still hears them); hold: it hears nothing and is not heard; " +
			"callIdsToCoach: it is heard only by these members (a coach), or by all again with an empty list. 404 when the member is not in the live conference.",
		Tags: tags, Security: bearerBasic, Errors: errs, MaxBodyBytes: 16 << 10, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *struct {
		ConferenceMemberPath
		Body ConferenceMemberUpdate
	}) (*struct{}, error) {
		return nil, s.conferenceErrorOrNil(ctx, s.cfg.Conferences.UpdateConferenceMember(in.AccountID, in.ConferenceID, in.MemberID, in.Body))
	})
}

func registerConferenceRecordings(s *Server, base string, tags []string, errs []int) {
	huma.Register(s.api, huma.Operation{
		OperationID: "listConferenceRecordings", Method: http.MethodGet, Path: base + "/{conferenceId}/recordings", Summary: "Get conference recordings",
		Description: "Recordings of the conference's mix, oldest first.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *ConferencePath) (*struct{ Body []ConferenceRecording }, error) {
		rs, err := s.cfg.Store.ConferenceRecordings(ctx, in.AccountID, in.ConferenceID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]ConferenceRecording, 0, len(rs))
		for _, r := range rs {
			out = append(out, s.toConferenceRecording(r))
		}
		return &struct{ Body []ConferenceRecording }{out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getConferenceRecording", Method: http.MethodGet, Path: base + "/{conferenceId}/recordings/{recordingId}", Summary: "Get conference recording information",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *ConferenceRecordingPath) (*struct{ Body ConferenceRecording }, error) {
		r, err := s.cfg.Store.ConferenceRecording(ctx, in.AccountID, in.ConferenceID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "conference recording "+in.RecordingID)
		}
		return &struct{ Body ConferenceRecording }{s.toConferenceRecording(r)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "downloadConferenceRecording", Method: http.MethodGet, Path: base + "/{conferenceId}/recordings/{recordingId}/media", Summary: "Download conference recording",
		Description: "The recording's media (audio/vnd.wave).",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *ConferenceRecordingPath) (*huma.StreamResponse, error) {
		r, err := s.cfg.Store.ConferenceRecording(ctx, in.AccountID, in.ConferenceID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "conference recording "+in.RecordingID)
		}
		return s.streamRecordingFile(ctx, r.FilePath, r.FileFormat, in.RecordingID)
	})
}
