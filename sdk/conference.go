package sdk

// Conference event types: a <Conference> verb's callbacks, delivered to the
// module of the application of the call they concern (the creator's call
// for created, completed and redirect; the member's for join and exit),
// with the same members as the webhook callback (conferenceId, name, tag,
// and callId, from, to for members). conferenceRedirect may be answered
// with BXML to run against the conference (PlayAudio, SpeakSentence,
// StartRecording, ...); the others are notifications.
const (
	EventConferenceCreated            EventType = "conferenceCreated"
	EventConferenceMemberJoin         EventType = "conferenceMemberJoin"
	EventConferenceMemberExit         EventType = "conferenceMemberExit"
	EventConferenceCompleted          EventType = "conferenceCompleted"
	EventConferenceRedirect           EventType = "conferenceRedirect"
	EventConferenceRecordingAvailable EventType = "conferenceRecordingAvailable"
)

// ConferenceID is the conferenceId of a conference event.
func (e Event) ConferenceID() string { return e.String("conferenceId") }
