package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

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
		return &struct{ Body CallRecording }{s.toCallRecording(r)}, nil
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
