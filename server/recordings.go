package server

import (
	"errors"
	"fmt"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/calls"
)

var _ api.RecordingControl = voiceAPI{}

func (v voiceAPI) SetRecordingState(accountID, id string, paused bool) error {
	err := v.engine.SetRecordingPaused(accountID, id, paused)
	if errors.Is(err, calls.ErrNoRecording) {
		return fmt.Errorf("call %s: %w", id, api.ErrNoActiveRecording)
	}
	return notActive(id, err)
}
