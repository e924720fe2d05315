package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/speech"
)

// TranscriptionConfig picks the speech recogniser that transcribes
// recordings and bounds its work.
type TranscriptionConfig struct {
	// URL is a self-hosted recogniser's /v1/audio/transcriptions endpoint;
	// empty: pocketsphinx on this machine.
	URL string
	// Model is the form's model field for URL (default whisper-1).
	Model string
	// Workers transcribe at once (0: DefaultTranscriptionWorkers); Queue
	// more wait (0: DefaultTranscriptionQueue), past which a request fails
	// at once.
	Workers, Queue int
}

// Defaults of the transcription bounds (flags --transcription-*).
const (
	DefaultTranscriptionWorkers = 1
	DefaultTranscriptionQueue   = 64
)

// recognizer builds the configured recogniser and says which it is.
func (c TranscriptionConfig) recognizer(s *Server) (speech.Recognizer, error) {
	if c.URL != "" {
		h, err := speech.NewHTTP(speech.HTTPOptions{URL: c.URL, Model: c.Model})
		if err != nil {
			return nil, fmt.Errorf("--transcription-url: %w", err)
		}
		s.log.Info("speech-to-text over HTTP", "url", c.URL)
		return h, nil
	}
	p := speech.NewPocketsphinx(speech.PocketsphinxOptions{})
	if p.Available() {
		s.log.Info("speech-to-text available (pocketsphinx)")
	} else {
		s.log.Warn("speech-to-text unavailable: install pocketsphinx and pocketsphinx-en-us, or set --transcription-url; transcriptions will fail")
	}
	return p, nil
}

func (c TranscriptionConfig) queue() *speech.Queue {
	w, q := c.Workers, c.Queue
	if w <= 0 {
		w = DefaultTranscriptionWorkers
	}
	if q <= 0 {
		q = DefaultTranscriptionQueue
	}
	return speech.NewQueue(w, q)
}

// closeTranscriptions stops the transcription workers once the engine is
// down; jobs still queued fail with the node stopping.
func (s *Server) closeTranscriptions() {
	if s.sttJobs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.sttJobs.Close(ctx); err != nil {
		s.log.Warn("transcriptions did not stop in time", "error", err)
	}
}

// failInterruptedTranscriptions settles the transcriptions a previous run
// left processing.
func (s *Server) failInterruptedTranscriptions(ctx context.Context) {
	n, err := s.store.FailInterruptedTranscriptions(ctx, time.Now())
	if err != nil {
		s.log.Warn("settle interrupted transcriptions", "error", err)
	} else if n > 0 {
		s.log.Warn("transcriptions interrupted by the last stop are failed", "count", n)
	}
	n, err = s.store.FailInterruptedRealtimeTranscriptions(ctx, time.Now())
	if err != nil {
		s.log.Warn("settle interrupted real-time transcriptions", "error", err)
	} else if n > 0 {
		s.log.Warn("real-time transcriptions interrupted by the last stop are failed", "count", n)
	}
}

// transcriber is the engine as the API's Transcriber.
type transcriber struct{ engine *calls.Engine }

var _ api.Transcriber = transcriber{}

func (t transcriber) TranscribeRecording(ctx context.Context, accountID, callID, recordingID string, target bxml.Target, tag string) error {
	err := t.engine.TranscribeRecording(ctx, accountID, callID, recordingID, target, tag)
	if errors.Is(err, speech.ErrQueueFull) {
		return fmt.Errorf("%w: try again later", api.ErrTranscriptionQueueFull)
	}
	return err
}
