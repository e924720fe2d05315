package calls

import (
	"context"
	"log/slog"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// activeTranscription is a <StartTranscription> from the verb to its end.
type activeTranscription struct {
	info bxml.RealTimeTranscription
}

// StartTranscription is refused until real-time transcription lands.
func (c *Call) StartTranscription(_ context.Context, v *bxml.StartTranscription) error {
	info := bxml.RealTimeTranscription{Name: v.Name, Tracks: bxml.StreamTracks(v.Tracks)}
	c.logf(slog.LevelWarn, "media", "StartTranscription: real-time transcription is not available yet")
	c.notify(v.TranscriptionEventTarget(), &bxml.RealTimeTranscriptionRejectedEvent{StopCause: bxml.StopCause{Cause: "error",
		ErrorMessage: "real-time transcription is not available yet"}, RealTimeTranscription: &info})
	return nil
}

// StopTranscription stops nothing yet.
func (c *Call) StopTranscription(context.Context, *bxml.StopTranscription) error { return nil }
