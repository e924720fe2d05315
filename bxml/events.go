package bxml

import "time"

// EventType is the eventType of a callback.
type EventType string

// Callback event types, as the Bandwidth Voice API names them.
const (
	EventInitiate             EventType = "initiate"
	EventAnswer               EventType = "answer"
	EventGather               EventType = "gather"
	EventDtmf                 EventType = "dtmf"
	EventRecordComplete       EventType = "recordComplete"
	EventRecordingAvailable   EventType = "recordingAvailable"
	EventRedirect             EventType = "redirect"
	EventTransferAnswer       EventType = "transferAnswer"
	EventTransferComplete     EventType = "transferComplete"
	EventTransferDisconnect   EventType = "transferDisconnect"
	EventDisconnect           EventType = "disconnect"
	EventBridgeComplete       EventType = "bridgeComplete"
	EventBridgeTargetComplete EventType = "bridgeTargetComplete"
	// EventReferComplete: a SIP REFER ended, the one a <Refer> sent or one
	// a peer sent (our extension; Bandwidth names it on its <Refer> verb).
	EventReferComplete EventType = "referComplete"

	EventMachineDetectionComplete EventType = "machineDetectionComplete"
	// EventTranscriptionAvailable: a recording's transcription is done.
	EventTranscriptionAvailable EventType = "transcriptionAvailable"
)

// ExpectsBXML reports whether the application may answer this event with
// BXML that the call then runs. The others are notifications whose
// response body is ignored.
func (t EventType) ExpectsBXML() bool {
	switch t {
	case EventInitiate, EventAnswer, EventGather, EventRecordComplete, EventRedirect,
		EventTransferAnswer, EventTransferComplete, EventBridgeComplete, EventBridgeTargetComplete,
		EventMachineDetectionComplete, EventReferComplete:
		return true
	}
	return false
}

// Disconnect causes, as the Bandwidth Voice API names them.
const (
	CauseHangup               = "hangup"
	CauseBusy                 = "busy"
	CauseTimeout              = "timeout"
	CauseCancel               = "cancel"
	CauseRejected             = "rejected"
	CauseCallbackError        = "callback-error"
	CauseInvalidBXML          = "invalid-bxml"
	CauseApplicationError     = "application-error"
	CauseAccountLimit         = "account-limit"
	CauseNodeCapacityExceeded = "node-capacity-exceeded"
	CauseError                = "error"
	CauseUnknown              = "unknown"
)

// Event is a callback body. The engine completes it with Fill (call
// identity, times, sticky tag) before sending it.
type Event interface {
	// Type is the event's eventType.
	Type() EventType
	// Common gives access to the fields every callback carries.
	Common() *CallEvent
	// Fill sets eventType and every field that is still zero from info;
	// fields already set (by the interpreter, e.g. a recording's
	// startTime) are kept.
	Fill(info *CallInfo)
}

// CallInfo is what the engine knows about a call leg when it sends a
// callback.
type CallInfo struct {
	AccountID     string
	ApplicationID string
	From          string
	To            string
	Direction     string // "inbound" or "outbound"
	CallID        string
	CallURL       string
	EnqueuedTime  time.Time
	StartTime     time.Time
	AnswerTime    time.Time
	EndTime       time.Time
	Tag           string // the sticky tag
	// B-leg of a Transfer only.
	ParentCallID     string
	TransferCallerID string
	TransferTo       string
}

// CallEvent holds the fields present in every call callback.
type CallEvent struct {
	EventType     EventType `json:"eventType"`
	EventTime     Time      `json:"eventTime"`
	AccountID     string    `json:"accountId"`
	ApplicationID string    `json:"applicationId"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	Direction     string    `json:"direction"`
	CallID        string    `json:"callId"`
	CallURL       string    `json:"callUrl"`
	StartTime     Time      `json:"startTime"`
}

// Common returns the shared fields.
func (e *CallEvent) Common() *CallEvent { return e }

func (e *CallEvent) fill(t EventType, in *CallInfo) {
	e.EventType = t
	if e.EventTime.IsZero() {
		e.EventTime = At(time.Now())
	}
	setS(&e.AccountID, in.AccountID)
	setS(&e.ApplicationID, in.ApplicationID)
	setS(&e.From, in.From)
	setS(&e.To, in.To)
	setS(&e.Direction, in.Direction)
	setS(&e.CallID, in.CallID)
	setS(&e.CallURL, in.CallURL)
	setT(&e.StartTime, in.StartTime)
}

func setS(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func setT(dst *Time, v time.Time) {
	if dst.IsZero() {
		*dst = At(v)
	}
}

// Diversion is the parsed Diversion header of an inbound call.
type Diversion struct {
	Reason  string `json:"reason,omitempty"`
	Privacy string `json:"privacy,omitempty"`
	Screen  string `json:"screen,omitempty"`
	Counter string `json:"counter,omitempty"`
	Limit   string `json:"limit,omitempty"`
	Unknown string `json:"unknown,omitempty"`
	OrigTo  string `json:"origTo"`
}

// StirShaken is the STIR/SHAKEN verification of an inbound call.
type StirShaken struct {
	Verstat              string `json:"verstat,omitempty"`
	AttestationIndicator string `json:"attestationIndicator,omitempty"`
	OriginatingID        string `json:"originatingId,omitempty"`
}

// MachineDetectionResult is the answering machine detection result of an
// answered outbound call: Value is human, answering-machine, silence,
// timeout or error; Duration how long detection took (ISO 8601).
type MachineDetectionResult struct {
	Value    string `json:"value,omitempty"`
	Duration string `json:"duration,omitempty"`
}

// Optional fields follow the specification: omitted when empty where the
// schema marks them nullable or "(optional)". Two deliberate exceptions:
// gather's digits and terminatingDigit are always sent, because the spec
// defines their empty-string values (timeout, no terminator); and
// initiate's diversion/stirShaken objects are omitted when the INVITE
// carried no such information.

// InitiateEvent is sent when an inbound call arrives; BXML answers it.
type InitiateEvent struct {
	CallEvent
	Diversion  *Diversion  `json:"diversion,omitempty"`
	StirShaken *StirShaken `json:"stirShaken,omitempty"`
	// UUI is the INVITE's User-to-User header (RFC 7433), when it had one.
	UUI string `json:"uui,omitempty"`
}

// AnswerEvent is sent when an outbound call is answered; BXML answers it.
type AnswerEvent struct {
	CallEvent
	EnqueuedTime           Time                    `json:"enqueuedTime,omitzero"`
	AnswerTime             Time                    `json:"answerTime,omitzero"`
	Tag                    string                  `json:"tag,omitempty"`
	MachineDetectionResult *MachineDetectionResult `json:"machineDetectionResult,omitempty"`
}

// GatherEvent reports the digits a <Gather> collected.
type GatherEvent struct {
	CallEvent
	Digits           string `json:"digits"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	ParentCallID     string `json:"parentCallId,omitempty"`
	TerminatingDigit string `json:"terminatingDigit"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
	Tag              string `json:"tag,omitempty"`
}

// DtmfEvent reports one digit after <StartGather>; no BXML reply.
type DtmfEvent struct {
	CallEvent
	Digit            string `json:"digit"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	ParentCallID     string `json:"parentCallId,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
	Tag              string `json:"tag,omitempty"`
}

// RecordCompleteEvent is sent after <Record> ends; BXML answers it. Its
// startTime and endTime are those of the recording.
type RecordCompleteEvent struct {
	CallEvent
	ParentCallID     string `json:"parentCallId,omitempty"`
	RecordingID      string `json:"recordingId"`
	MediaURL         string `json:"mediaUrl,omitempty"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	EndTime          Time   `json:"endTime"`
	Duration         string `json:"duration"`
	FileFormat       string `json:"fileFormat"`
	Channels         int    `json:"channels"`
	Tag              string `json:"tag,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
}

// RecordingAvailableEvent is sent when a recording can be downloaded; no
// BXML reply.
type RecordingAvailableEvent struct {
	CallEvent
	ParentCallID     string `json:"parentCallId,omitempty"`
	RecordingID      string `json:"recordingId"`
	MediaURL         string `json:"mediaUrl,omitempty"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	EndTime          Time   `json:"endTime"`
	Duration         string `json:"duration"`
	FileFormat       string `json:"fileFormat"`
	Channels         int    `json:"channels"`
	Tag              string `json:"tag,omitempty"`
	Status           string `json:"status"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
}

// TranscriptionAvailableEvent is sent when a recording's transcription
// is done; no BXML reply.
type TranscriptionAvailableEvent struct {
	CallEvent
	MediaURL         string         `json:"mediaUrl,omitempty"`
	ParentCallID     string         `json:"parentCallId,omitempty"`
	RecordingID      string         `json:"recordingId"`
	EnqueuedTime     Time           `json:"enqueuedTime,omitzero"`
	EndTime          Time           `json:"endTime"`
	Duration         string         `json:"duration"`
	FileFormat       string         `json:"fileFormat"`
	Tag              string         `json:"tag,omitempty"`
	Transcription    *Transcription `json:"transcription"`
	TransferCallerID string         `json:"transferCallerId"`
	TransferTo       string         `json:"transferTo"`
}

// Transcription is what a recording's speaker said, as the
// transcriptionAvailable callback carries it.
type Transcription struct {
	Speaker    int     `json:"speaker"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
}

// RedirectEvent is sent by <Redirect> and by updateCall's redirectUrl;
// BXML answers it.
type RedirectEvent struct {
	CallEvent
	ParentCallID     string `json:"parentCallId,omitempty"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	Tag              string `json:"tag,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
}

// TransferAnswerEvent is sent when a Transfer target answers; its BXML runs
// on the callee before bridging.
type TransferAnswerEvent struct {
	CallEvent
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	Tag              string `json:"tag,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
}

// TransferCompleteEvent is sent to the A-leg when the transfer ends; BXML
// answers it.
type TransferCompleteEvent struct {
	CallEvent
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	Tag              string `json:"tag,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
	Cause            string `json:"cause"`
	ErrorMessage     string `json:"errorMessage,omitempty"`
	ErrorID          string `json:"errorId,omitempty"`
}

// TransferDisconnectEvent is sent when a Transfer B-leg ends; no BXML reply.
type TransferDisconnectEvent struct {
	CallEvent
	ParentCallID     string `json:"parentCallId,omitempty"`
	EnqueuedTime     Time   `json:"enqueuedTime,omitzero"`
	AnswerTime       Time   `json:"answerTime,omitzero"`
	EndTime          Time   `json:"endTime"`
	Tag              string `json:"tag,omitempty"`
	TransferCallerID string `json:"transferCallerId"`
	TransferTo       string `json:"transferTo"`
	Cause            string `json:"cause"`
	ErrorMessage     string `json:"errorMessage,omitempty"`
	ErrorID          string `json:"errorId,omitempty"`
}

// DisconnectEvent is sent when a call ends, for any reason; no BXML reply.
type DisconnectEvent struct {
	CallEvent
	EnqueuedTime Time   `json:"enqueuedTime,omitzero"`
	AnswerTime   Time   `json:"answerTime,omitzero"`
	EndTime      Time   `json:"endTime"`
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	ErrorID      string `json:"errorId,omitempty"`
	Tag          string `json:"tag,omitempty"`
}

// BridgeCompleteEvent is sent when the target leaves a <Bridge> (or the
// bridge fails); BXML answers it.
type BridgeCompleteEvent struct {
	CallEvent
	EnqueuedTime Time   `json:"enqueuedTime,omitzero"`
	AnswerTime   Time   `json:"answerTime,omitzero"`
	Tag          string `json:"tag,omitempty"`
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	ErrorID      string `json:"errorId,omitempty"`
}

// BridgeTargetCompleteEvent is sent to the target when the originating
// call leaves the <Bridge>; its BXML runs on the target.
type BridgeTargetCompleteEvent struct {
	CallEvent
	EnqueuedTime Time   `json:"enqueuedTime,omitzero"`
	AnswerTime   Time   `json:"answerTime,omitzero"`
	Tag          string `json:"tag,omitempty"`
}

// ReferCompleteEvent reports a SIP REFER (blind or attended transfer) once
// it ended. On a call that sent <Refer> its BXML runs when the call is
// still up (the peer refused or the transfer failed); for a REFER a peer
// sent it is a notification to the application's status callback.
type ReferCompleteEvent struct {
	CallEvent
	ParentCallID string `json:"parentCallId,omitempty"`
	AnswerTime   Time   `json:"answerTime,omitzero"`
	Tag          string `json:"tag,omitempty"`
	// Direction of the REFER: "received" (a peer sent it) or "sent".
	ReferDirection string `json:"referDirection"`
	ReferTo        string `json:"referTo"`
	ReferredBy     string `json:"referredBy,omitempty"`
	// ReplacesCallID is the SIP Call-ID an attended transfer replaced.
	ReplacesCallID string `json:"replacesCallId,omitempty"`
	// TransfereeCallID is our call that was transferred; TransferCallID
	// the call it is now bridged with (a new leg, or for an attended
	// transfer the replaced dialog's other party).
	TransfereeCallID string `json:"transfereeCallId,omitempty"`
	TransferCallID   string `json:"transferCallId,omitempty"`
	// SipStatus is the final sipfrag status: 200 when the transfer
	// succeeded, the refusal or failure otherwise.
	SipStatus    int    `json:"sipStatus"`
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

func (*InitiateEvent) Type() EventType             { return EventInitiate }
func (*AnswerEvent) Type() EventType               { return EventAnswer }
func (*GatherEvent) Type() EventType               { return EventGather }
func (*DtmfEvent) Type() EventType                 { return EventDtmf }
func (*RecordCompleteEvent) Type() EventType       { return EventRecordComplete }
func (*RecordingAvailableEvent) Type() EventType   { return EventRecordingAvailable }
func (*RedirectEvent) Type() EventType             { return EventRedirect }
func (*TransferAnswerEvent) Type() EventType       { return EventTransferAnswer }
func (*TransferCompleteEvent) Type() EventType     { return EventTransferComplete }
func (*TransferDisconnectEvent) Type() EventType   { return EventTransferDisconnect }
func (*DisconnectEvent) Type() EventType           { return EventDisconnect }
func (*BridgeCompleteEvent) Type() EventType       { return EventBridgeComplete }
func (*BridgeTargetCompleteEvent) Type() EventType { return EventBridgeTargetComplete }
func (*MachineDetectionCompleteEvent) Type() EventType {
	return EventMachineDetectionComplete
}

func (*TranscriptionAvailableEvent) Type() EventType { return EventTranscriptionAvailable }
func (*ReferCompleteEvent) Type() EventType          { return EventReferComplete }

func (e *ReferCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}

func (e *InitiateEvent) Fill(in *CallInfo) { e.fill(e.Type(), in) }

func (e *AnswerEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}

func (e *GatherEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.ParentCallID, in.ParentCallID)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
	setS(&e.Tag, in.Tag)
}

func (e *DtmfEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.ParentCallID, in.ParentCallID)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
	setS(&e.Tag, in.Tag)
}

func (e *RecordCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *RecordingAvailableEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *TranscriptionAvailableEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *RedirectEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *TransferAnswerEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *TransferCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *TransferDisconnectEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setS(&e.ParentCallID, in.ParentCallID)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setT(&e.EndTime, in.EndTime)
	setS(&e.Tag, in.Tag)
	setS(&e.TransferCallerID, in.TransferCallerID)
	setS(&e.TransferTo, in.TransferTo)
}

func (e *DisconnectEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setT(&e.EndTime, in.EndTime)
	setS(&e.Tag, in.Tag)
}

func (e *BridgeCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}

func (e *BridgeTargetCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}

// MachineDetectionCompleteEvent carries the result of asynchronous answering
// machine detection (createCall's machineDetection, mode async); BXML
// answering it replaces what the call runs.
type MachineDetectionCompleteEvent struct {
	CallEvent
	EnqueuedTime           Time                    `json:"enqueuedTime,omitzero"`
	AnswerTime             Time                    `json:"answerTime,omitzero"`
	Tag                    string                  `json:"tag,omitempty"`
	MachineDetectionResult *MachineDetectionResult `json:"machineDetectionResult,omitempty"`
}

func (e *MachineDetectionCompleteEvent) Fill(in *CallInfo) {
	e.fill(e.Type(), in)
	setT(&e.EnqueuedTime, in.EnqueuedTime)
	setT(&e.AnswerTime, in.AnswerTime)
	setS(&e.Tag, in.Tag)
}
