package bxml

// Callbacks of media streams (<StartStream>) and real-time transcriptions
// (<StartTranscription>), as Bandwidth documents them. None takes BXML.
const (
	EventMediaStreamStarted  EventType = "mediaStreamStarted"
	EventMediaStreamRejected EventType = "mediaStreamRejected"
	EventMediaStreamStopped  EventType = "mediaStreamStopped"

	EventRealTimeTranscriptionStarted   EventType = "realTimeTranscriptionStarted"
	EventRealTimeTranscriptionRejected  EventType = "realTimeTranscriptionRejected"
	EventRealTimeTranscriptionStopped   EventType = "realTimeTranscriptionStopped"
	EventRealTimeTranscriptionAvailable EventType = "realTimeTranscriptionAvailable"
)

// MediaStream describes a stream in its callbacks.
type MediaStream struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Destination string   `json:"destination"`
	Tracks      []string `json:"tracks"`
	Type        string   `json:"type"` // always WebSocket
	StartTime   Time     `json:"startTime,omitzero"`
	Duration    string   `json:"duration,omitempty"` // mediaStreamStopped only (ISO 8601)
}

// forkEvent holds what every stream and transcription callback carries
// beyond CallEvent.
type forkEvent struct {
	CallEvent
	EnqueuedTime Time   `json:"enqueuedTime,omitzero"`
	AnswerTime   Time   `json:"answerTime,omitzero"`
	Tag          string `json:"tag,omitempty"`
}

func (e *forkEvent) fillFork(t EventType, in *CallInfo) {
	e.fill(t, in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}

// StopCause is why a stream or transcription was rejected or stopped.
type StopCause struct {
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// MediaStreamStartedEvent: the stream's WebSocket is open and its start
// message sent.
type MediaStreamStartedEvent struct {
	forkEvent
	MediaStream *MediaStream `json:"mediaStream"`
}

// MediaStreamRejectedEvent: the stream did not start. Cause is
// connection-error, duplicate, error or track-limit.
type MediaStreamRejectedEvent struct {
	forkEvent
	StopCause
	MediaStream *MediaStream `json:"mediaStream"`
}

// MediaStreamStoppedEvent: the stream ended (StopStream, hangup, or its
// server went away). Cause is closed, connection-error or error.
type MediaStreamStoppedEvent struct {
	forkEvent
	StopCause
	MediaStream *MediaStream `json:"mediaStream"`
}

// RealTimeTranscription describes a real-time transcription in its
// callbacks.
type RealTimeTranscription struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Tracks        []string `json:"tracks"`
	Destination   string   `json:"destination,omitempty"`
	Stabilized    bool     `json:"stabilized"`
	StartTime     Time     `json:"startTime,omitzero"`
	Duration      string   `json:"duration,omitempty"`
	Status        string   `json:"status,omitempty"` // available or failed (Available only)
	URL           string   `json:"url,omitempty"`
	CompletedTime Time     `json:"completedTime,omitzero"`
}

// RealTimeTranscriptionStartedEvent: transcription began.
type RealTimeTranscriptionStartedEvent struct {
	forkEvent
	RealTimeTranscription *RealTimeTranscription `json:"realTimeTranscription"`
}

// RealTimeTranscriptionRejectedEvent: transcription did not start.
type RealTimeTranscriptionRejectedEvent struct {
	forkEvent
	StopCause
	RealTimeTranscription *RealTimeTranscription `json:"realTimeTranscription"`
}

// RealTimeTranscriptionStoppedEvent: transcription ended.
type RealTimeTranscriptionStoppedEvent struct {
	forkEvent
	StopCause
	RealTimeTranscription *RealTimeTranscription `json:"realTimeTranscription"`
}

// RealTimeTranscriptionAvailableEvent: the transcription is complete and
// can be read at its url.
type RealTimeTranscriptionAvailableEvent struct {
	forkEvent
	RealTimeTranscription *RealTimeTranscription `json:"realTimeTranscription"`
}

func (*MediaStreamStartedEvent) Type() EventType  { return EventMediaStreamStarted }
func (*MediaStreamRejectedEvent) Type() EventType { return EventMediaStreamRejected }
func (*MediaStreamStoppedEvent) Type() EventType  { return EventMediaStreamStopped }
func (*RealTimeTranscriptionStartedEvent) Type() EventType {
	return EventRealTimeTranscriptionStarted
}
func (*RealTimeTranscriptionRejectedEvent) Type() EventType {
	return EventRealTimeTranscriptionRejected
}
func (*RealTimeTranscriptionStoppedEvent) Type() EventType {
	return EventRealTimeTranscriptionStopped
}
func (*RealTimeTranscriptionAvailableEvent) Type() EventType {
	return EventRealTimeTranscriptionAvailable
}

func (e *MediaStreamStartedEvent) Fill(in *CallInfo)             { e.fillFork(e.Type(), in) }
func (e *MediaStreamRejectedEvent) Fill(in *CallInfo)            { e.fillFork(e.Type(), in) }
func (e *MediaStreamStoppedEvent) Fill(in *CallInfo)             { e.fillFork(e.Type(), in) }
func (e *RealTimeTranscriptionStartedEvent) Fill(in *CallInfo)   { e.fillFork(e.Type(), in) }
func (e *RealTimeTranscriptionRejectedEvent) Fill(in *CallInfo)  { e.fillFork(e.Type(), in) }
func (e *RealTimeTranscriptionStoppedEvent) Fill(in *CallInfo)   { e.fillFork(e.Type(), in) }
func (e *RealTimeTranscriptionAvailableEvent) Fill(in *CallInfo) { e.fillFork(e.Type(), in) }
