package server

import (
	"errors"
	"fmt"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/calls"
)

var _ api.ConferenceControl = voiceAPI{}

func (v voiceAPI) CompleteConference(accountID, id string) error {
	return confError(v.engine.CompleteConference(accountID, id))
}

func (v voiceAPI) RedirectConference(accountID, id string, t bxml.Target) error {
	return confError(v.engine.RedirectConference(accountID, id, t))
}

func (v voiceAPI) ReplaceConferenceBXML(accountID, id string, doc *bxml.Document) error {
	return confError(v.engine.ReplaceConferenceBXML(accountID, id, doc))
}

func (v voiceAPI) UpdateConferenceMember(accountID, id, callID string, u api.ConferenceMemberUpdate) error {
	return confError(v.engine.UpdateConferenceMember(accountID, id, callID, calls.MemberUpdate{Mute: u.Mute, Hold: u.Hold, Coach: u.CallIDsToCoach}))
}

// confError gives the engine's conference errors the API's meaning.
func confError(err error) error {
	switch {
	case errors.Is(err, calls.ErrConferenceNotActive):
		return fmt.Errorf("%w: %w", api.ErrConferenceNotActive, err)
	case errors.Is(err, calls.ErrNotMember):
		return fmt.Errorf("%w: %w", api.ErrNotConferenceMember, err)
	}
	return err
}
