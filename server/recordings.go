package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/storage"
)

var _ api.RecordingControl = voiceAPI{}

func (v voiceAPI) SetRecordingState(accountID, id string, paused bool) error {
	err := v.engine.SetRecordingPaused(accountID, id, paused)
	if errors.Is(err, calls.ErrNoRecording) {
		return fmt.Errorf("call %s: %w", id, api.ErrNoActiveRecording)
	}
	return notActive(id, err)
}

// recordingMedia opens where finished recordings go (--recording-storage).
func (c Config) recordingMedia(ctx context.Context) (*storage.Media, error) {
	if c.RecordingStorage == "" {
		return storage.NewMedia(nil, c.Logger), nil
	}
	sc, err := storage.ParseS3URL(c.RecordingStorage)
	if err != nil {
		return nil, fmt.Errorf("--recording-storage: %w", err)
	}
	bucket, err := storage.OpenS3(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("--recording-storage: %w", err)
	}
	c.Logger.Info("recordings go to an S3 bucket", "endpoint", sc.Endpoint, "bucket", sc.Bucket, "prefix", sc.Prefix)
	return storage.NewMedia(bucket, c.Logger), nil
}
