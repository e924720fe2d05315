package api

import (
	"context"
	"math"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/wasmvoice/wasmvoice/store"
)

// CallTranscriptionMetadata names a call's real-time transcription.
type CallTranscriptionMetadata struct {
	TranscriptionID   string `json:"transcriptionId" example:"t-3f758f24-c7a2fc78-7c91-401a-8b2e-e542f9c40d6b"`
	TranscriptionName string `json:"transcriptionName" example:"live_transcription"`
	TranscriptionURL  string `json:"transcriptionUrl" format:"uri" example:"https://voice.example.com/api/v2/accounts/9900000/calls/c-fef240ff-5cfc9091-8069-4863-a8c0-a4dcbbf1f1a4/transcriptions/t-3f758f24-c7a2fc78-7c91-401a-8b2e-e542f9c40d6b"`
}

// CallTranscriptionResponse is a real-time transcription: what each track
// said.
type CallTranscriptionResponse struct {
	AccountID       string              `json:"accountId" example:"9900000"`
	CallID          string              `json:"callId" example:"c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
	TranscriptionID string              `json:"transcriptionId" example:"t-3f758f24-c7a2fc78-7c91-401a-8b2e-e542f9c40d6b"`
	Tracks          []CallTranscription `json:"tracks"`
}

// CallTranscription is one track's transcript.
type CallTranscription struct {
	DetectedLanguage string  `json:"detectedLanguage" enum:"en-US,es-US,fr-FR" example:"en-US" doc:"Always en-US: the recogniser hears US English."`
	Track            string  `json:"track" enum:"inbound,outbound" example:"inbound"`
	Transcript       string  `json:"transcript" example:"Hello World! This is an example."`
	Confidence       float64 `json:"confidence" minimum:"0" maximum:"1" example:"0.9" doc:"The mean of the utterances' confidences; 0 when the recogniser gives none."`
}

// TranscriptionPath is a real-time transcription of a call.
type TranscriptionPath struct {
	CallPath
	TranscriptionID string `path:"transcriptionId" maxLength:"64" example:"t-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"`
}

func (s *Server) realtimeURL(t store.RealtimeTranscription) string {
	return s.cfg.PublicURL + "/api/v2/accounts/" + t.AccountID + "/calls/" + t.CallID + "/transcriptions/" + t.ID
}

// realtimeTracks joins each track's segments into one transcript.
func realtimeTracks(t store.RealtimeTranscription, segs []store.RealtimeSegment) []CallTranscription {
	out := []CallTranscription{}
	for _, track := range strings.Split(t.Tracks, ",") {
		var texts []string
		var sum float64
		for _, seg := range segs {
			if seg.Track == track {
				texts = append(texts, seg.Transcript)
				sum += seg.Confidence
			}
		}
		ct := CallTranscription{DetectedLanguage: "en-US", Track: track, Transcript: strings.Join(texts, " ")}
		if len(texts) > 0 {
			ct.Confidence = math.Round(sum/float64(len(texts))*1000) / 1000
		}
		out = append(out, ct)
	}
	return out
}

func registerRealtimeTranscriptions(s *Server) {
	const base = "/api/v2/accounts/{accountId}/calls/{callId}/transcriptions"
	tags := []string{"Transcriptions"}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(s.api, huma.Operation{
		OperationID: "listRealTimeTranscriptions", Method: http.MethodGet, Path: base, Summary: "Enumerate transcriptions made with StartTranscription",
		Description: "The call's real-time transcriptions (<StartTranscription>), oldest first, running or finished. An unknown call has none.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *CallPath) (*struct{ Body []CallTranscriptionMetadata }, error) {
		ts, err := s.cfg.Store.RealtimeTranscriptions(ctx, in.AccountID, in.CallID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := make([]CallTranscriptionMetadata, 0, len(ts))
		for _, t := range ts {
			out = append(out, CallTranscriptionMetadata{TranscriptionID: t.ID, TranscriptionName: t.Name, TranscriptionURL: s.realtimeURL(t)})
		}
		return &struct{ Body []CallTranscriptionMetadata }{out}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "getRealTimeTranscription", Method: http.MethodGet, Path: base + "/{transcriptionId}", Summary: "Retrieve a specific transcription",
		Description: "What each transcribed track said so far: the utterances the recogniser finished, joined. A transcription still running grows as the call goes on.",
		Tags:        tags, Security: bearerBasic, Errors: errs,
	}, func(ctx context.Context, in *TranscriptionPath) (*struct{ Body CallTranscriptionResponse }, error) {
		t, segs, err := s.cfg.Store.RealtimeTranscription(ctx, in.AccountID, in.CallID, in.TranscriptionID)
		if err != nil {
			return nil, s.lookupError(ctx, err, "transcription "+in.TranscriptionID)
		}
		return &struct{ Body CallTranscriptionResponse }{CallTranscriptionResponse{AccountID: t.AccountID, CallID: t.CallID,
			TranscriptionID: t.ID, Tracks: realtimeTracks(t, segs)}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteRealTimeTranscription", Method: http.MethodDelete, Path: base + "/{transcriptionId}", Summary: "Delete a specific transcription",
		Description: "Deletes the transcription and its text; one still running stores nothing more.",
		Tags:        tags, Security: bearerBasic, Errors: errs, DefaultStatus: http.StatusOK,
	}, func(ctx context.Context, in *TranscriptionPath) (*struct{}, error) {
		if err := s.cfg.Store.DeleteRealtimeTranscription(ctx, in.AccountID, in.CallID, in.TranscriptionID); err != nil {
			return nil, s.lookupError(ctx, err, "transcription "+in.TranscriptionID)
		}
		return nil, nil
	})
}
