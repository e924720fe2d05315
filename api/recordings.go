package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
)

// RecordingControl is what updateCallRecordingState needs from the call
// engine.
type RecordingControl interface {
	// SetRecordingState pauses (paused) or resumes the live call's
	// StartRecording, as PauseRecording and ResumeRecording do; it returns
	// ErrCallNotActive or ErrNoActiveRecording when there is none.
	SetRecordingState(accountID, callID string, paused bool) error
}

func (noEngine) SetRecordingState(string, string, bool) error { return ErrCallNotActive }

// ErrNoActiveRecording is returned by RecordingControl for a live call that
// has no StartRecording running.
var ErrNoActiveRecording = errors.New("the call has no recording in progress")

// UpdateCallRecordingRequest is the updateCallRecordingState body.
type UpdateCallRecordingRequest struct {
	State string `json:"state" enum:"paused,recording" example:"paused"`
}

// CallRecording is a recording's metadata, as the Voice API shows it
// (callRecordingMetadata): fields the spec does not let be null are left
// out when they have no value.
type CallRecording struct {
	ApplicationID    string    `json:"applicationId"`
	AccountID        string    `json:"accountId"`
	CallID           string    `json:"callId"`
	ParentCallID     string    `json:"parentCallId,omitempty" doc:"The call that transferred to this one; absent otherwise."`
	RecordingID      string    `json:"recordingId"`
	To               string    `json:"to"`
	From             string    `json:"from"`
	TransferCallerID string    `json:"transferCallerId,omitempty" doc:"On a transfer leg: the caller ID it was placed with."`
	TransferTo       string    `json:"transferTo,omitempty" doc:"On a transfer leg: the number or URI it was placed to."`
	Duration         string    `json:"duration" example:"PT13.67S" doc:"ISO 8601 duration."`
	Direction        string    `json:"direction" enum:"inbound,outbound"`
	Channels         int       `json:"channels" format:"int32" example:"1"`
	StartTime        time.Time `json:"startTime"`
	EndTime          time.Time `json:"endTime"`
	FileFormat       string    `json:"fileFormat" enum:"mp3,wav"`
	Status           string    `json:"status" example:"complete" doc:"complete, or deleted once its media is deleted (deleteRecordingMedia)."`
	MediaURL         *string   `json:"mediaUrl" format:"uri" nullable:"true" doc:"Where to download the media; null once it is deleted."`
	RecordingName    string    `json:"recordingName,omitempty" doc:"The StartRecording recordingName, when it had one."`
	// Transcription is set by withTranscriptions (api/transcriptions.go).
	Transcription *RecordingTranscriptionMetadata `json:"transcription,omitempty" doc:"The recording's transcription, absent when it has none."`
}

func (s *Server) toCallRecording(r store.RecordingRecord) CallRecording {
	var media *string
	if r.FilePath != "" {
		u := s.cfg.PublicURL + "/api/v2/accounts/" + r.AccountID + "/calls/" + r.CallID + "/recordings/" + r.ID + "/media"
		media = &u
	}
	return CallRecording{
		ApplicationID: r.ApplicationID, AccountID: r.AccountID, CallID: r.CallID, ParentCallID: r.ParentCallID,
		RecordingID: r.ID, To: r.To, From: r.From, TransferCallerID: r.TransferCallerID, TransferTo: r.TransferTo,
		Duration: fmt.Sprintf("PT%gS", float64(r.DurationMS)/1000), Direction: r.Direction, Channels: r.Channels,
		StartTime: r.StartTime, EndTime: r.EndTime, FileFormat: r.FileFormat, Status: r.Status, MediaURL: media,
		RecordingName: r.Name,
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
		OperationID: "listAccountCallRecordings", Method: http.MethodGet, Path: "/api/v2/accounts/{accountId}/recordings", Summary: "Get call recordings of the account",
		Description: "The account's call recordings, newest first, filtered by to, from, minStartTime and maxStartTime; " +
			"the list is capped at 1000 entries (narrow it with the time filters to reach older ones).",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *struct {
		AccountPath
		To           string    `query:"to" maxLength:"1024" doc:"Recordings of calls to this number or URI."`
		From         string    `query:"from" maxLength:"1024" doc:"Recordings of calls from this number or URI."`
		MinStartTime time.Time `query:"minStartTime" doc:"Recordings that started at or after this time (ISO 8601)."`
		MaxStartTime time.Time `query:"maxStartTime" doc:"Recordings that started at or before this time (ISO 8601)."`
	}) (*struct{ Body []CallRecording }, error) {
		rs, err := s.cfg.Store.AccountRecordings(ctx, in.AccountID, store.RecordingFilter{
			To: in.To, From: in.From, MinStartTime: in.MinStartTime, MaxStartTime: in.MaxStartTime})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := s.toCallRecordings(rs)
		// Transcriptions are read per call: group the list by call.
		byCall := map[string][]int{}
		for i, r := range out {
			byCall[r.CallID] = append(byCall[r.CallID], i)
		}
		for callID, idx := range byCall {
			group := make([]CallRecording, len(idx))
			for j, i := range idx {
				group[j] = out[i]
			}
			if err := s.withTranscriptions(ctx, in.AccountID, callID, group); err != nil {
				return nil, s.internal(ctx, err)
			}
			for j, i := range idx {
				out[i] = group[j]
			}
		}
		return &struct{ Body []CallRecording }{out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "updateCallRecordingState", Method: http.MethodPut, Path: base + "/{callId}/recording", Summary: "Update recording",
		Description: "Pauses (paused) or resumes (recording) the live call's StartRecording; the paused time is left out of the file. " +
			"404 when the call is not live or has no recording in progress.",
		Tags: tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusOK, MaxBodyBytes: 1 << 10,
	}, func(ctx context.Context, in *struct {
		CallPath
		Body UpdateCallRecordingRequest
	}) (*struct{}, error) {
		err := s.cfg.Recordings.SetRecordingState(in.AccountID, in.CallID, in.Body.State == "paused")
		if errors.Is(err, ErrNoActiveRecording) {
			return nil, huma.Error404NotFound(err.Error())
		}
		if err != nil {
			return nil, s.callError(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "listCallRecordings", Method: http.MethodGet, Path: base + "/{callId}/recordings", Summary: "Get call recordings",
		Tags: tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *CallPath) (*struct{ Body []CallRecording }, error) {
		rs, err := s.cfg.Store.CallRecordings(ctx, in.AccountID, in.CallID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := s.toCallRecordings(rs)
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
		return s.streamRecordingFile(ctx, r.FilePath, r.FileFormat, in.RecordingID)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteRecordingMedia", Method: http.MethodDelete, Path: base + "/{callId}/recordings/{recordingId}/media", Summary: "Delete recording media",
		Description: "Deletes the recording's media; its metadata stays, with status deleted and mediaUrl null.",
		Tags:        tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *RecordingPath) (*struct{}, error) {
		r, err := s.cfg.Store.DeleteRecordingMedia(ctx, in.AccountID, in.CallID, in.RecordingID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "recording media "+in.RecordingID)
		}
		s.removeRecordingFile(ctx, r)
		return nil, nil
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
		s.removeRecordingFile(ctx, r)
		return nil, nil
	})
}

func (s *Server) toCallRecordings(rs []store.RecordingRecord) []CallRecording {
	out := make([]CallRecording, 0, len(rs))
	for _, r := range rs {
		out = append(out, s.toCallRecording(r))
	}
	return out
}

// removeRecordingFile removes the media of a recording whose index entry
// no longer names it. A file that cannot be removed is logged with its
// path, for the operator: the index change has happened, so nothing would
// find the file again.
func (s *Server) removeRecordingFile(ctx context.Context, r store.RecordingRecord) {
	if err := s.cfg.RecordingMedia.Remove(ctx, r.FilePath); err != nil {
		s.log.WarnContext(ctx, "remove recording media", "recordingId", r.ID, "path", r.FilePath, "error", err)
	}
}

// streamRecordingFile answers a recording's media download, wherever the
// media lives (a local file or a bucket: storage.Media).
func (s *Server) streamRecordingFile(ctx context.Context, ref, format, id string) (*huma.StreamResponse, error) {
	if ref == "" {
		return nil, s.lookupError(ctx, fmt.Errorf("recording media %s was deleted: %w", id, store.ErrNotFound), "recording media "+id)
	}
	f, size, err := s.cfg.RecordingMedia.Open(ctx, ref)
	if errors.Is(err, storage.ErrMediaNotFound) {
		return nil, s.lookupError(ctx, fmt.Errorf("%w: %w", err, store.ErrNotFound), "recording media "+id)
	}
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer f.Close()
		hctx.SetHeader("Content-Type", storage.ContentType(format))
		hctx.SetHeader("Content-Length", fmt.Sprint(size))
		hctx.SetStatus(http.StatusOK)
		// A failed copy means the client went away: the status is sent.
		io.Copy(hctx.BodyWriter(), f)
	}}, nil
}
