package bxml

import (
	"context"
	"encoding/json"
	"fmt"
)

// Conference callback event types, as the Bandwidth Voice API names them.
const (
	EventConferenceCreated            EventType = "conferenceCreated"
	EventConferenceMemberJoin         EventType = "conferenceMemberJoin"
	EventConferenceMemberExit         EventType = "conferenceMemberExit"
	EventConferenceCompleted          EventType = "conferenceCompleted"
	EventConferenceRedirect           EventType = "conferenceRedirect"
	EventConferenceRecordingAvailable EventType = "conferenceRecordingAvailable"
)

// ConferenceEventTarget is where a Conference verb's events go.
func (c *Conference) ConferenceEventTarget() Target {
	return Target{c.ConferenceEventURL, c.ConferenceEventMethod, c.ConferenceEventFallbackURL, c.ConferenceEventFallbackMethod,
		c.Username, c.Password, c.FallbackUsername, c.FallbackPassword, 0}
}

// ConferenceEvent holds what every conference callback carries. Conference
// callbacks are not call callbacks: their body has only the members the
// spec lists (eventType, eventTime, conferenceId, name, tag and each
// event's own), so each type marshals itself; the call fields in common
// only carry eventType and eventTime, which the sender sets.
type ConferenceEvent struct {
	common       CallEvent
	ConferenceID string
	Name         string
	Tag          string
}

// Common gives the sender the eventType and eventTime to set.
func (e *ConferenceEvent) Common() *CallEvent { return &e.common }

// Fill sets the eventType; a conference event takes nothing from a call.
func (e *ConferenceEvent) fillType(t EventType) {
	e.common.EventType = t
}

// conferenceWire is the JSON every conference callback starts with.
type conferenceWire struct {
	EventType    EventType `json:"eventType"`
	EventTime    Time      `json:"eventTime"`
	ConferenceID string    `json:"conferenceId"`
	Name         string    `json:"name"`
	Tag          *string   `json:"tag"`
}

func (e *ConferenceEvent) wire(t EventType) conferenceWire {
	w := conferenceWire{EventType: t, EventTime: e.common.EventTime, ConferenceID: e.ConferenceID, Name: e.Name}
	if e.Tag != "" {
		tag := e.Tag
		w.Tag = &tag
	}
	return w
}

// ConferenceCreatedEvent: the first member's Conference verb created the
// conference. No BXML reply.
type ConferenceCreatedEvent struct{ ConferenceEvent }

// ConferenceCompletedEvent: the conference ended (its last member left, or
// updateConference completed it). No BXML reply.
type ConferenceCompletedEvent struct{ ConferenceEvent }

// ConferenceRedirectEvent asks for BXML to run against the conference
// (updateConference with a redirectUrl).
type ConferenceRedirectEvent struct{ ConferenceEvent }

// ConferenceMemberEvent is conferenceMemberJoin and conferenceMemberExit:
// the call that joined or left. No BXML reply.
type ConferenceMemberEvent struct {
	ConferenceEvent
	Exit   bool // conferenceMemberExit
	From   string
	To     string
	CallID string
}

// ConferenceRecordingAvailableEvent: a recording of the conference's mix
// can be downloaded. No BXML reply.
type ConferenceRecordingAvailableEvent struct {
	ConferenceEvent
	AccountID   string
	RecordingID string
	Channels    int
	StartTime   Time
	EndTime     Time
	Duration    string
	FileFormat  string
	MediaURL    string
	Status      string
}

func (*ConferenceCreatedEvent) Type() EventType   { return EventConferenceCreated }
func (*ConferenceCompletedEvent) Type() EventType { return EventConferenceCompleted }
func (*ConferenceRedirectEvent) Type() EventType  { return EventConferenceRedirect }
func (e *ConferenceMemberEvent) Type() EventType {
	if e.Exit {
		return EventConferenceMemberExit
	}
	return EventConferenceMemberJoin
}
func (*ConferenceRecordingAvailableEvent) Type() EventType {
	return EventConferenceRecordingAvailable
}

func (e *ConferenceCreatedEvent) Fill(*CallInfo)            { e.fillType(e.Type()) }
func (e *ConferenceCompletedEvent) Fill(*CallInfo)          { e.fillType(e.Type()) }
func (e *ConferenceRedirectEvent) Fill(*CallInfo)           { e.fillType(e.Type()) }
func (e *ConferenceMemberEvent) Fill(*CallInfo)             { e.fillType(e.Type()) }
func (e *ConferenceRecordingAvailableEvent) Fill(*CallInfo) { e.fillType(e.Type()) }

func (e *ConferenceCreatedEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.wire(e.Type()))
}

func (e *ConferenceCompletedEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.wire(e.Type()))
}

func (e *ConferenceRedirectEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.wire(e.Type()))
}

func (e *ConferenceMemberEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		conferenceWire
		From   string `json:"from"`
		To     string `json:"to"`
		CallID string `json:"callId"`
	}{e.wire(e.Type()), e.From, e.To, e.CallID})
}

func (e *ConferenceRecordingAvailableEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		conferenceWire
		AccountID   string `json:"accountId"`
		RecordingID string `json:"recordingId"`
		Channels    int    `json:"channels"`
		StartTime   Time   `json:"startTime"`
		EndTime     Time   `json:"endTime"`
		Duration    string `json:"duration"`
		FileFormat  string `json:"fileFormat"`
		MediaURL    string `json:"mediaUrl"`
		Status      string `json:"status"`
	}{e.wire(e.Type()), e.AccountID, e.RecordingID, e.Channels, e.StartTime, e.EndTime, e.Duration, e.FileFormat, e.MediaURL, e.Status})
}

// ConferenceCall is a Call that can join conferences (the engine's calls).
type ConferenceCall interface {
	// Conference joins the conference named by v (creating it), and
	// returns once the call has left it: removed or redirected by the API,
	// or the conference completed. ctx ends when the call hangs up.
	Conference(ctx context.Context, v *Conference) error
}

// ConferenceVerb reports whether a verb may run against a conference (in
// the answer to conferenceRedirect, or updateConferenceBxml): audio to
// every member and the recording of the mix.
func ConferenceVerb(v Verb) bool {
	switch v.(type) {
	case *PlayAudio, *SpeakSentence, *StartRecording, *StopRecording, *PauseRecording, *ResumeRecording, *Tag:
		return true
	}
	return false
}

// CheckConference returns an *Error for the first verb of doc that cannot
// run against a conference.
func CheckConference(doc *Document) error {
	for i, v := range doc.Verbs {
		if !ConferenceVerb(v) {
			pos := doc.posOf(i)
			return &Error{Verb: v.VerbName(), Line: pos.line, Column: pos.col,
				Reason: fmt.Sprintf("%s cannot run against a conference (PlayAudio, SpeakSentence, StartRecording, StopRecording, PauseRecording, ResumeRecording and Tag can)", v.VerbName()),
				Err:    ErrInvalid}
		}
	}
	return nil
}
