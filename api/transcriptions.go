package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/store"
)

// Transcriber starts transcriptions of recordings (the call engine).
type Transcriber interface {
	// TranscribeRecording queues the transcription of a stored recording
	// and returns once its status is processing; when done, the
	// transcriptionAvailable callback goes to t (when it has a URL) with
	// tag. Errors: store.ErrNotFound, store.ErrTranscriptionBusy,
	// ErrTranscriptionQueueFull (matched with errors.Is by the engine's own).
	TranscribeRecording(ctx context.Context, accountID, callID, recordingID string, t bxml.Target, tag string) error
}

// TranscribeRecordingRequest is the transcribeCallRecording body.
type TranscribeRecordingRequest struct {
	CallbackURL     *string  `json:"callbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true" doc:"Where the transcriptionAvailable callback goes; none when absent."`
	CallbackMethod  *string  `json:"callbackMethod,omitempty" enum:"GET,POST" nullable:"true" default:"POST"`
	Username        *string  `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password        *string  `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	Tag             *string  `json:"tag,omitempty" maxLength:"256" nullable:"true"`
	CallbackTimeout *float64 `json:"callbackTimeout,omitempty" minimum:"1" maximum:"25" nullable:"true" default:"15"`
	DetectLanguage  *bool    `json:"detectLanguage,omitempty" nullable:"true" default:"false" doc:"Accepted; the recogniser hears US English only."`
}

// RecordingTranscriptions is a recording's transcription: a transcript per
// speaker (channel) and the timed clips.
type RecordingTranscriptions struct {
	Transcripts []TranscriptionText `json:"transcripts"`
	Clips       []TranscriptionClip `json:"clips"`
}

// TranscriptionText is what one speaker said.
type TranscriptionText struct {
	Speaker    int     `json:"speaker" doc:"The recording's channel, from 0."`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence" minimum:"0" maximum:"1" doc:"0 when the recogniser gives none."`
}

// TranscriptionClip is a stretch of one speaker's speech.
type TranscriptionClip struct {
	Speaker          int     `json:"speaker"`
	Text             string  `json:"text"`
	Confidence       float64 `json:"confidence" minimum:"0" maximum:"1"`
	StartTimeSeconds float64 `json:"startTimeSeconds"`
	EndTimeSeconds   float64 `json:"endTimeSeconds"`
}

// RecordingTranscriptionMetadata is the transcription a recording's
// metadata shows.
type RecordingTranscriptionMetadata struct {
	ID            string     `json:"id" example:"t-387bd648-18f3-4823-9d16-746bca0003c9"`
	Status        string     `json:"status" example:"available" doc:"processing, available or error (more may come: tolerate unknown values)."`
	CompletedTime *time.Time `json:"completedTime,omitempty"`
	URL           string     `json:"url" format:"uri"`
}

func (s *Server) transcriptionURL(t store.TranscriptionRecord) string {
	return s.cfg.PublicURL + "/api/v2/accounts/" + t.AccountID + "/calls/" + t.CallID + "/recordings/" + t.RecordingID + "/transcription"
}

func (s *Server) transcriptionMetadata(t store.TranscriptionRecord) *RecordingTranscriptionMetadata {
	m := &RecordingTranscriptionMetadata{ID: t.ID, Status: t.Status, URL: s.transcriptionURL(t)}
	if t.CompletedTime.Valid {
		m.CompletedTime = &t.CompletedTime.Time
	}
	return m
}

// withTranscriptions sets the transcription of each of a call's recordings.
func (s *Server) withTranscriptions(ctx context.Context, accountID, callID string, rs []CallRecording) error {
	if len(rs) == 0 {
		return nil
	}
	ts, err := s.cfg.Store.CallTranscriptions(ctx, accountID, callID)
	if err != nil {
		return err
	}
	for i := range rs {
		if t, ok := ts[rs[i].RecordingID]; ok {
			rs[i].Transcription = s.transcriptionMetadata(t)
		}
	}
	return nil
}

// ErrTranscriptionQueueFull is what a Transcriber's full queue matches:
// 429 with Retry-After.
var ErrTranscriptionQueueFull = errors.New("the transcription queue is full")

func registerTranscriptions(s *Server) {
	const path = "/api/v2/accounts/{accountId}/calls/{callId}/recordings/{recordingId}/transcription"
	tags := []string{"Recordings"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(s.api, huma.Operation{
		OperationID: "getRecordingTranscription", Method: http.MethodGet, Path: path, Summary: "Get transcription",
		Description: "The recording's transcription once its status is available: a transcript per speaker (channel) and timed clips. 404 while there is none, while it is processing or when it failed (the recording's metadata shows which).",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *RecordingPath) (*struct{ Body RecordingTranscriptions }, error) {
		t, err := s.cfg.Store.Transcription(ctx, in.AccountID, in.CallID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "transcription of recording "+in.RecordingID)
		}
		switch t.Status {
		case store.TranscriptionAvailable:
		case store.TranscriptionError:
			return nil, huma.Error404NotFound("transcription of recording " + in.RecordingID + " failed: " + t.ErrorMessage)
		default:
			return nil, huma.Error404NotFound("transcription of recording " + in.RecordingID + " is " + t.Status)
		}
		var out RecordingTranscriptions
		if err := json.Unmarshal([]byte(t.Result), &out); err != nil {
			return nil, s.internal(ctx, err)
		}
		if out.Transcripts == nil {
			out.Transcripts = []TranscriptionText{}
		}
		if out.Clips == nil {
			out.Clips = []TranscriptionClip{}
		}
		return &struct{ Body RecordingTranscriptions }{out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "transcribeCallRecording", Method: http.MethodPost, Path: path, Summary: "Create transcription request",
		Description: "Transcribes the recording (again: a finished transcription is replaced). The transcriptionAvailable callback goes to callbackUrl when it is done. 409 while a transcription of the recording is processing, 429 when the node's transcription queue is full.",
		Tags:        tags, Security: bearerBasic, Errors: append(errs, http.StatusConflict, http.StatusTooManyRequests),
		DefaultStatus: http.StatusNoContent, MaxBodyBytes: 16 << 10,
	}, func(ctx context.Context, in *struct {
		RecordingPath
		Body TranscribeRecordingRequest
	}) (*struct{}, error) {
		if s.cfg.Transcriber == nil {
			return nil, huma.Error503ServiceUnavailable("transcription is not configured on this node")
		}
		b := in.Body
		t := bxml.Target{URL: orS(b.CallbackURL, ""), Method: orS(b.CallbackMethod, "POST"), Username: orS(b.Username, ""),
			Password: orS(b.Password, ""), Timeout: time.Duration(orF(b.CallbackTimeout, 0) * float64(time.Second))}
		err := s.cfg.Transcriber.TranscribeRecording(ctx, in.AccountID, in.CallID, in.RecordingID, t, orS(b.Tag, ""))
		switch {
		case err == nil:
			return nil, nil
		case errors.Is(err, store.ErrTranscriptionBusy):
			return nil, huma.Error409Conflict(err.Error())
		case errors.Is(err, ErrTranscriptionQueueFull):
			return nil, &retryAfter{huma.NewError(http.StatusTooManyRequests, err.Error()), 10 * time.Second}
		}
		return nil, s.lookupError(ctx, err, "recording "+in.RecordingID)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteRecordingTranscription", Method: http.MethodDelete, Path: path, Summary: "Delete transcription",
		Description: "Deletes the recording's transcription; one still processing is dropped when it ends.",
		Tags:        tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *RecordingPath) (*struct{}, error) {
		if err := s.cfg.Store.DeleteTranscription(ctx, in.AccountID, in.CallID, in.RecordingID); err != nil {
			return nil, s.lookupError(ctx, err, "transcription of recording "+in.RecordingID)
		}
		return nil, nil
	})
}
