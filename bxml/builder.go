package bxml

import (
	"bytes"
	"encoding/xml"
	"reflect"
)

// The constructors return verbs with every attribute at its documented
// default, so callers only set what differs. A zero struct literal is not
// the same: its numbers are 0, which Marshal rejects where out of range.

func withDefaults[T any]() *T {
	p := new(T)
	if s, ok := specByType[reflect.TypeFor[T]()]; ok {
		s.applyDefaults(reflect.ValueOf(p).Elem())
	}
	return p
}

// String returns a pointer to s, for the optional Tag attributes (nil
// leaves the sticky tag alone, a pointer to "" clears it).
func String(s string) *string { return &s }

// NewSpeakSentence speaks plain text (escaped for you).
func NewSpeakSentence(text string) *SpeakSentence {
	v := withDefaults[SpeakSentence]()
	v.SSML = EscapeText(text)
	return v
}

// NewSpeakSSML speaks an SSML fragment given as markup.
func NewSpeakSSML(markup string) *SpeakSentence {
	v := withDefaults[SpeakSentence]()
	v.SSML = markup
	return v
}

// NewPlayAudio plays the file at url.
func NewPlayAudio(url string) *PlayAudio {
	v := withDefaults[PlayAudio]()
	v.URL = url
	return v
}

// NewPause waits seconds of silence.
func NewPause(seconds float64) *Pause {
	v := withDefaults[Pause]()
	v.Duration = seconds
	return v
}

// NewRing plays ringback for seconds.
func NewRing(seconds float64) *Ring {
	v := withDefaults[Ring]()
	v.Duration = seconds
	return v
}

// NewSendDtmf sends digits.
func NewSendDtmf(digits string) *SendDtmf {
	v := withDefaults[SendDtmf]()
	v.Digits = digits
	return v
}

// NewGather collects digits, sending them to gatherURL ("" drops them),
// while playing prompts.
func NewGather(gatherURL string, prompts ...Prompt) *Gather {
	v := withDefaults[Gather]()
	v.GatherURL = gatherURL
	v.Prompts = prompts
	return v
}

// NewStartGather reports each digit to dtmfURL in the background.
func NewStartGather(dtmfURL string) *StartGather {
	v := withDefaults[StartGather]()
	v.DtmfURL = dtmfURL
	return v
}

// NewStopGather stops a StartGather.
func NewStopGather() *StopGather { return &StopGather{} }

// NewRecord records, sending recordComplete to recordCompleteURL ("" runs
// the next verb instead).
func NewRecord(recordCompleteURL string) *Record {
	v := withDefaults[Record]()
	v.RecordCompleteURL = recordCompleteURL
	return v
}

// NewStartRecording starts a background recording.
func NewStartRecording() *StartRecording { return withDefaults[StartRecording]() }

// NewStopRecording stops the background recording.
func NewStopRecording() *StopRecording { return &StopRecording{} }

// NewPauseRecording pauses the background recording.
func NewPauseRecording() *PauseRecording { return &PauseRecording{} }

// NewResumeRecording resumes the background recording.
func NewResumeRecording() *ResumeRecording { return &ResumeRecording{} }

// NewTransfer rings targets at once and bridges the first to answer.
func NewTransfer(transferCompleteURL string, targets ...TransferTarget) *Transfer {
	v := withDefaults[Transfer]()
	v.TransferCompleteURL = transferCompleteURL
	v.Targets = targets
	return v
}

// NewPhoneNumber is a Transfer target in E.164 form.
func NewPhoneNumber(number string) *PhoneNumber {
	v := withDefaults[PhoneNumber]()
	v.Number = number
	return v
}

// NewSipURI is a Transfer target given as a sip: URI.
func NewSipURI(uri string) *SipURI {
	v := withDefaults[SipURI]()
	v.URI = uri
	return v
}

// NewBridge bridges with the live call callID.
func NewBridge(callID string) *Bridge {
	v := withDefaults[Bridge]()
	v.CallID = callID
	return v
}

// NewConference joins the named conference.
func NewConference(name string) *Conference {
	v := withDefaults[Conference]()
	v.Name = name
	return v
}

// NewForward hands the call off to to.
func NewForward(to string) *Forward {
	v := withDefaults[Forward]()
	v.To = to
	return v
}

// NewRedirect fetches the next document from redirectURL.
func NewRedirect(redirectURL string) *Redirect {
	v := withDefaults[Redirect]()
	v.RedirectURL = redirectURL
	return v
}

// NewHangup ends the call.
func NewHangup() *Hangup { return &Hangup{} }

// NewTag sets (or with "" clears) the sticky callback tag.
func NewTag(tag string) *Tag { return &Tag{Value: tag} }

// NewStartStream streams audio to a ws(s):// destination.
func NewStartStream(destination string) *StartStream {
	v := withDefaults[StartStream]()
	v.Destination = destination
	return v
}

// NewStopStream stops the named stream.
func NewStopStream(name string) *StopStream {
	v := withDefaults[StopStream]()
	v.Name = name
	return v
}

// NewStartTranscription starts real-time transcription.
func NewStartTranscription() *StartTranscription { return withDefaults[StartTranscription]() }

// NewStopTranscription stops the named transcription.
func NewStopTranscription(name string) *StopTranscription {
	return &StopTranscription{Name: name}
}

// EscapeText escapes plain text for use as SpeakSentence markup.
func EscapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
