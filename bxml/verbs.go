package bxml

// Struct tags drive parsing, defaults, validation and marshalling:
//
//	bxml:"attrName,opt,opt..."   an attribute
//	bxml:",text,opt..."          the element's text content
//	bxml:",children=A|B"         nested elements of the listed names
//
// Options: default=V, min=N, max=N, enum=a|b, method (GET|POST, default
// POST), url (http(s) or relative), ws (ws:// or wss://), required,
// maxlen=N, chars=dial|keys, e164, sip, ssml (raw SSML markup).
// Durations are float64 seconds as in the BXML reference, except SendDtmf's
// tone timings, which the reference gives in milliseconds.

// Verb is one BXML verb that may appear directly under <Response> or <Bxml>.
type Verb interface {
	VerbName() string
	isVerb()
}

// Prompt is a verb that may be nested in <Gather>: SpeakSentence or PlayAudio.
type Prompt interface {
	Verb
	isPrompt()
}

// TransferTarget is a child of <Transfer>: *PhoneNumber or *SipURI.
type TransferTarget interface {
	// Address is the number or SIP URI to dial.
	Address() string
	// Options are the per-target callback settings.
	Options() *TargetOptions
	isTarget()
}

// SpeakSentence speaks text (which may contain SSML) with text to speech.
type SpeakSentence struct {
	// SSML is the element's inner content as an XML fragment: text with
	// XML escaping, optionally SSML elements. NewSpeakSentence escapes
	// plain text for you; PlainText strips the markup.
	SSML   string `bxml:",text,ssml"`
	Voice  string `bxml:"voice,maxlen=64"`
	Gender string `bxml:"gender,enum=female|male|neutral,default=female"`
	Locale string `bxml:"locale,maxlen=16,default=en_US"`
}

// PlayAudio plays a .wav or .mp3 file fetched from a URL.
type PlayAudio struct {
	URL      string `bxml:",text,required,url"`
	Username string `bxml:"username,maxlen=1024"`
	Password string `bxml:"password,maxlen=1024"`
}

// Pause waits in silence.
type Pause struct {
	Duration float64 `bxml:"duration,default=1,min=0,max=86400"`
}

// Ring plays ringback; with AnswerCall false the call stays unanswered
// (early media).
type Ring struct {
	Duration   float64 `bxml:"duration,default=5,min=0.1,max=86400"`
	AnswerCall bool    `bxml:"answerCall,default=true"`
}

// SendDtmf sends DTMF digits; w pauses 0.5 s, W pauses 1 s.
type SendDtmf struct {
	Digits string `bxml:",text,required,chars=dial,maxlen=92"`
	// ToneDuration and ToneInterval are milliseconds.
	ToneDuration float64 `bxml:"toneDuration,default=200,min=50,max=5000"`
	ToneInterval float64 `bxml:"toneInterval,default=400,min=50,max=5000"`
}

// Gather collects DTMF digits while playing its nested prompts.
type Gather struct {
	GatherURL            string   `bxml:"gatherUrl,url"`
	GatherMethod         string   `bxml:"gatherMethod,method"`
	GatherFallbackURL    string   `bxml:"gatherFallbackUrl,url"`
	GatherFallbackMethod string   `bxml:"gatherFallbackMethod,method"`
	Username             string   `bxml:"username,maxlen=1024"`
	Password             string   `bxml:"password,maxlen=1024"`
	FallbackUsername     string   `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword     string   `bxml:"fallbackPassword,maxlen=1024"`
	Tag                  *string  `bxml:"tag,maxlen=256"`
	TerminatingDigits    string   `bxml:"terminatingDigits,chars=keys,maxlen=12"`
	MaxDigits            int      `bxml:"maxDigits,default=50,min=1,max=50"`
	InterDigitTimeout    float64  `bxml:"interDigitTimeout,default=5,min=1,max=60"`
	FirstDigitTimeout    float64  `bxml:"firstDigitTimeout,default=5,min=0,max=60"`
	RepeatCount          int      `bxml:"repeatCount,default=1,min=1,max=20"`
	Prompts              []Prompt `bxml:",children=SpeakSentence|PlayAudio"`
}

// StartGather reports every digit in the background to DtmfURL.
type StartGather struct {
	DtmfURL    string  `bxml:"dtmfUrl,url,required"`
	DtmfMethod string  `bxml:"dtmfMethod,method"`
	Username   string  `bxml:"username,maxlen=1024"`
	Password   string  `bxml:"password,maxlen=1024"`
	Tag        *string `bxml:"tag,maxlen=256"`
}

// StopGather stops a StartGather.
type StopGather struct{}

// Record records the caller until a terminating digit, silence or
// MaxDuration.
type Record struct {
	RecordCompleteURL            string  `bxml:"recordCompleteUrl,url"`
	RecordCompleteMethod         string  `bxml:"recordCompleteMethod,method"`
	RecordCompleteFallbackURL    string  `bxml:"recordCompleteFallbackUrl,url"`
	RecordCompleteFallbackMethod string  `bxml:"recordCompleteFallbackMethod,method"`
	RecordingAvailableURL        string  `bxml:"recordingAvailableUrl,url"`
	RecordingAvailableMethod     string  `bxml:"recordingAvailableMethod,method"`
	Transcribe                   bool    `bxml:"transcribe,default=false"`
	TranscriptionAvailableURL    string  `bxml:"transcriptionAvailableUrl,url"`
	TranscriptionAvailableMethod string  `bxml:"transcriptionAvailableMethod,method"`
	DetectLanguage               bool    `bxml:"detectLanguage,default=false"`
	Username                     string  `bxml:"username,maxlen=1024"`
	Password                     string  `bxml:"password,maxlen=1024"`
	FallbackUsername             string  `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword             string  `bxml:"fallbackPassword,maxlen=1024"`
	Tag                          *string `bxml:"tag,maxlen=256"`
	TerminatingDigits            string  `bxml:"terminatingDigits,chars=keys,maxlen=12,default=#"`
	MaxDuration                  float64 `bxml:"maxDuration,default=60,min=1,max=10800"`
	SilenceTimeout               float64 `bxml:"silenceTimeout,default=0,min=0,max=10800"`
	FileFormat                   string  `bxml:"fileFormat,enum=wav|mp3,default=wav"`
}

// StartRecording records the call in the background.
type StartRecording struct {
	RecordingAvailableURL        string  `bxml:"recordingAvailableUrl,url"`
	RecordingAvailableMethod     string  `bxml:"recordingAvailableMethod,method"`
	Transcribe                   bool    `bxml:"transcribe,default=false"`
	TranscriptionAvailableURL    string  `bxml:"transcriptionAvailableUrl,url"`
	TranscriptionAvailableMethod string  `bxml:"transcriptionAvailableMethod,method"`
	DetectLanguage               bool    `bxml:"detectLanguage,default=false"`
	Username                     string  `bxml:"username,maxlen=1024"`
	Password                     string  `bxml:"password,maxlen=1024"`
	Tag                          *string `bxml:"tag,maxlen=256"`
	MultiChannel                 bool    `bxml:"multiChannel,default=false"`
	FileFormat                   string  `bxml:"fileFormat,enum=wav|mp3,default=wav"`
	RecordingName                string  `bxml:"recordingName,maxlen=256"`
}

// StopRecording ends a StartRecording.
type StopRecording struct {
	Tag *string `bxml:"tag,maxlen=256"`
}

// PauseRecording pauses a StartRecording.
type PauseRecording struct {
	Tag *string `bxml:"tag,maxlen=256"`
}

// ResumeRecording resumes a paused StartRecording.
type ResumeRecording struct {
	Tag *string `bxml:"tag,maxlen=256"`
}

// Transfer dials its targets at once; the first to answer is bridged.
type Transfer struct {
	TransferCallerID               string           `bxml:"transferCallerId,maxlen=256"`
	TransferCallerDisplayName      string           `bxml:"transferCallerDisplayName,maxlen=256"`
	Privacy                        bool             `bxml:"privacy,default=false"`
	CallTimeout                    float64          `bxml:"callTimeout,default=30,min=1,max=300"`
	TransferCompleteURL            string           `bxml:"transferCompleteUrl,url"`
	TransferCompleteMethod         string           `bxml:"transferCompleteMethod,method"`
	TransferCompleteFallbackURL    string           `bxml:"transferCompleteFallbackUrl,url"`
	TransferCompleteFallbackMethod string           `bxml:"transferCompleteFallbackMethod,method"`
	Username                       string           `bxml:"username,maxlen=1024"`
	Password                       string           `bxml:"password,maxlen=1024"`
	FallbackUsername               string           `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword               string           `bxml:"fallbackPassword,maxlen=1024"`
	Tag                            *string          `bxml:"tag,maxlen=256"`
	DiversionTreatment             string           `bxml:"diversionTreatment,enum=none|propagate|stack"`
	DiversionReason                string           `bxml:"diversionReason,enum=unknown|user-busy|no-answer|unavailable|unconditional|time-of-day|do-not-disturb|deflection|follow-me|out-of-service|away"`
	Targets                        []TransferTarget `bxml:",children=PhoneNumber|SipUri"`
}

// TargetOptions are the callback settings of one Transfer target.
type TargetOptions struct {
	TransferAnswerURL            string  `bxml:"transferAnswerUrl,url"`
	TransferAnswerMethod         string  `bxml:"transferAnswerMethod,method"`
	TransferAnswerFallbackURL    string  `bxml:"transferAnswerFallbackUrl,url"`
	TransferAnswerFallbackMethod string  `bxml:"transferAnswerFallbackMethod,method"`
	TransferDisconnectURL        string  `bxml:"transferDisconnectUrl,url"`
	TransferDisconnectMethod     string  `bxml:"transferDisconnectMethod,method"`
	Username                     string  `bxml:"username,maxlen=1024"`
	Password                     string  `bxml:"password,maxlen=1024"`
	FallbackUsername             string  `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword             string  `bxml:"fallbackPassword,maxlen=1024"`
	Tag                          *string `bxml:"tag,maxlen=256"`
	// UUI is the User-to-User header value (RFC 7433, with its encoding
	// parameter).
	UUI string `bxml:"uui,maxlen=256"`
}

// PhoneNumber is a Transfer target in E.164 form.
type PhoneNumber struct {
	Number string `bxml:",text,required,e164"`
	TargetOptions
}

// SipURI is a Transfer target given as a sip: or sips: URI (<SipUri>).
type SipURI struct {
	URI string `bxml:",text,required,sip,maxlen=1024"`
	TargetOptions
}

// Bridge joins this call with another live call, given by its call ID.
type Bridge struct {
	CallID                             string  `bxml:",text,required,maxlen=256"`
	BridgeCompleteURL                  string  `bxml:"bridgeCompleteUrl,url"`
	BridgeCompleteMethod               string  `bxml:"bridgeCompleteMethod,method"`
	BridgeCompleteFallbackURL          string  `bxml:"bridgeCompleteFallbackUrl,url"`
	BridgeCompleteFallbackMethod       string  `bxml:"bridgeCompleteFallbackMethod,method"`
	BridgeTargetCompleteURL            string  `bxml:"bridgeTargetCompleteUrl,url"`
	BridgeTargetCompleteMethod         string  `bxml:"bridgeTargetCompleteMethod,method"`
	BridgeTargetCompleteFallbackURL    string  `bxml:"bridgeTargetCompleteFallbackUrl,url"`
	BridgeTargetCompleteFallbackMethod string  `bxml:"bridgeTargetCompleteFallbackMethod,method"`
	Username                           string  `bxml:"username,maxlen=1024"`
	Password                           string  `bxml:"password,maxlen=1024"`
	FallbackUsername                   string  `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword                   string  `bxml:"fallbackPassword,maxlen=1024"`
	Tag                                *string `bxml:"tag,maxlen=256"`
}

// Conference joins a named conference (not run by this server yet).
type Conference struct {
	Name                          string  `bxml:",text,required,maxlen=100"`
	Mute                          bool    `bxml:"mute,default=false"`
	Hold                          bool    `bxml:"hold,default=false"`
	CallIdsToCoach                string  `bxml:"callIdsToCoach,maxlen=4096"`
	ConferenceEventURL            string  `bxml:"conferenceEventUrl,url"`
	ConferenceEventMethod         string  `bxml:"conferenceEventMethod,method"`
	ConferenceEventFallbackURL    string  `bxml:"conferenceEventFallbackUrl,url"`
	ConferenceEventFallbackMethod string  `bxml:"conferenceEventFallbackMethod,method"`
	Username                      string  `bxml:"username,maxlen=1024"`
	Password                      string  `bxml:"password,maxlen=1024"`
	FallbackUsername              string  `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword              string  `bxml:"fallbackPassword,maxlen=1024"`
	Tag                           *string `bxml:"tag,maxlen=256"`
	CallbackTimeout               float64 `bxml:"callbackTimeout,default=15,min=1,max=25"`
}

// Forward hands the call off at the SIP level to another destination.
type Forward struct {
	To                 string  `bxml:"to,required,maxlen=1024"`
	From               string  `bxml:"from,maxlen=1024"`
	CallTimeout        float64 `bxml:"callTimeout,default=30,min=1,max=300"`
	DiversionTreatment string  `bxml:"diversionTreatment,enum=none|propagate|stack"`
	DiversionReason    string  `bxml:"diversionReason,enum=unknown|user-busy|no-answer|unavailable|unconditional|time-of-day|do-not-disturb|deflection|follow-me|out-of-service|away"`
	UUI                string  `bxml:"uui,maxlen=256"`
}

// Redirect fetches a new document from RedirectURL.
type Redirect struct {
	RedirectURL            string  `bxml:"redirectUrl,url,required"`
	RedirectMethod         string  `bxml:"redirectMethod,method"`
	RedirectFallbackURL    string  `bxml:"redirectFallbackUrl,url"`
	RedirectFallbackMethod string  `bxml:"redirectFallbackMethod,method"`
	Username               string  `bxml:"username,maxlen=1024"`
	Password               string  `bxml:"password,maxlen=1024"`
	FallbackUsername       string  `bxml:"fallbackUsername,maxlen=1024"`
	FallbackPassword       string  `bxml:"fallbackPassword,maxlen=1024"`
	Tag                    *string `bxml:"tag,maxlen=256"`
}

// Hangup ends the call.
type Hangup struct{}

// Tag sets the sticky tag sent with later callbacks; empty clears it.
type Tag struct {
	Value string `bxml:",text,maxlen=256"`
}

// StartStream streams call audio to a WebSocket (not run by this server yet).
type StartStream struct {
	Name              string        `bxml:"name,maxlen=256"`
	Mode              string        `bxml:"mode,enum=unidirectional|bidirectional,default=unidirectional"`
	Tracks            string        `bxml:"tracks,enum=inbound|outbound|both,default=inbound"`
	Destination       string        `bxml:"destination,ws,required"`
	StreamEventURL    string        `bxml:"streamEventUrl,url"`
	StreamEventMethod string        `bxml:"streamEventMethod,method"`
	Username          string        `bxml:"username,maxlen=1024"`
	Password          string        `bxml:"password,maxlen=1024"`
	Params            []StreamParam `bxml:",children=StreamParam"`
}

// StreamParam is a name/value pair nested in StartStream.
type StreamParam struct {
	Name  string `bxml:"name,required,maxlen=256"`
	Value string `bxml:"value,required,maxlen=2048"`
}

// StopStream stops a named stream (not run by this server yet).
type StopStream struct {
	Name string `bxml:"name,maxlen=256"`
	Wait bool   `bxml:"wait,default=false"`
}

// StartTranscription starts real-time transcription (not run yet).
type StartTranscription struct {
	Name                     string        `bxml:"name,maxlen=256"`
	Tracks                   string        `bxml:"tracks,enum=inbound|outbound|both,default=inbound"`
	TranscriptionEventURL    string        `bxml:"transcriptionEventUrl,url"`
	TranscriptionEventMethod string        `bxml:"transcriptionEventMethod,method"`
	Username                 string        `bxml:"username,maxlen=1024"`
	Password                 string        `bxml:"password,maxlen=1024"`
	Destination              string        `bxml:"destination,ws"`
	Stabilized               bool          `bxml:"stabilized,default=true"`
	DetectLanguage           bool          `bxml:"detectLanguage,default=false"`
	PreferredLanguages       string        `bxml:"preferredLanguages,maxlen=256"`
	Params                   []CustomParam `bxml:",children=CustomParam"`
}

// CustomParam is a name/value pair nested in StartTranscription.
type CustomParam struct {
	Name  string `bxml:"name,required,maxlen=256"`
	Value string `bxml:"value,required,maxlen=2048"`
}

// StopTranscription stops a named transcription (not run yet).
type StopTranscription struct {
	Name string `bxml:"name,maxlen=256"`
}

// Refer sends a SIP REFER in the call's dialog asking the peer to transfer
// itself to its SipUri child; SipHeader children (our extension) add custom
// headers to the REFER, and the SipUri's uui a User-to-User header.
type Refer struct {
	ReferCompleteURL    string       `bxml:"referCompleteUrl,url"`
	ReferCompleteMethod string       `bxml:"referCompleteMethod,method"`
	Tag                 *string      `bxml:"tag,maxlen=256"`
	Children            []ReferChild `bxml:",children=SipUri|SipHeader"`
}

// ReferChild is a child of <Refer>: the target (*SipURI) or a custom
// header (*SipHeader).
type ReferChild interface{ isReferChild() }

// SipHeader is a custom header a <Refer> sends (our extension to BXML):
// an X-* name and its value.
type SipHeader struct {
	Name  string `bxml:"name,required,maxlen=64"`
	Value string `bxml:"value,required,maxlen=1024"`
}

// Target is the <Refer>'s SipUri (nil before validation).
func (r *Refer) Target() *SipURI {
	for _, c := range r.Children {
		if u, ok := c.(*SipURI); ok {
			return u
		}
	}
	return nil
}

// Headers are the <Refer>'s SipHeader children.
func (r *Refer) Headers() []*SipHeader {
	var hs []*SipHeader
	for _, c := range r.Children {
		if h, ok := c.(*SipHeader); ok {
			hs = append(hs, h)
		}
	}
	return hs
}

// ReferCompleteTarget is where referComplete goes.
func (r *Refer) ReferCompleteTarget() Target {
	return Target{URL: r.ReferCompleteURL, Method: r.ReferCompleteMethod}
}

func (*SipURI) isReferChild()    {}
func (*SipHeader) isReferChild() {}

// Connect connects the call to an endpoint (not run by this server yet).
type Connect struct {
	EventCallbackURL string     `bxml:"eventCallbackUrl,url"`
	Endpoints        []Endpoint `bxml:",children=Endpoint"`
}

// Endpoint is the target nested in Connect.
type Endpoint struct {
	ID string `bxml:",text,required,maxlen=256"`
}

func (*SpeakSentence) VerbName() string      { return "SpeakSentence" }
func (*PlayAudio) VerbName() string          { return "PlayAudio" }
func (*Pause) VerbName() string              { return "Pause" }
func (*Ring) VerbName() string               { return "Ring" }
func (*SendDtmf) VerbName() string           { return "SendDtmf" }
func (*Gather) VerbName() string             { return "Gather" }
func (*StartGather) VerbName() string        { return "StartGather" }
func (*StopGather) VerbName() string         { return "StopGather" }
func (*Record) VerbName() string             { return "Record" }
func (*StartRecording) VerbName() string     { return "StartRecording" }
func (*StopRecording) VerbName() string      { return "StopRecording" }
func (*PauseRecording) VerbName() string     { return "PauseRecording" }
func (*ResumeRecording) VerbName() string    { return "ResumeRecording" }
func (*Transfer) VerbName() string           { return "Transfer" }
func (*Bridge) VerbName() string             { return "Bridge" }
func (*Conference) VerbName() string         { return "Conference" }
func (*Forward) VerbName() string            { return "Forward" }
func (*Redirect) VerbName() string           { return "Redirect" }
func (*Hangup) VerbName() string             { return "Hangup" }
func (*Tag) VerbName() string                { return "Tag" }
func (*StartStream) VerbName() string        { return "StartStream" }
func (*StopStream) VerbName() string         { return "StopStream" }
func (*StartTranscription) VerbName() string { return "StartTranscription" }
func (*StopTranscription) VerbName() string  { return "StopTranscription" }
func (*Refer) VerbName() string              { return "Refer" }
func (*Connect) VerbName() string            { return "Connect" }

func (*SpeakSentence) isVerb()      {}
func (*PlayAudio) isVerb()          {}
func (*Pause) isVerb()              {}
func (*Ring) isVerb()               {}
func (*SendDtmf) isVerb()           {}
func (*Gather) isVerb()             {}
func (*StartGather) isVerb()        {}
func (*StopGather) isVerb()         {}
func (*Record) isVerb()             {}
func (*StartRecording) isVerb()     {}
func (*StopRecording) isVerb()      {}
func (*PauseRecording) isVerb()     {}
func (*ResumeRecording) isVerb()    {}
func (*Transfer) isVerb()           {}
func (*Bridge) isVerb()             {}
func (*Conference) isVerb()         {}
func (*Forward) isVerb()            {}
func (*Redirect) isVerb()           {}
func (*Hangup) isVerb()             {}
func (*Tag) isVerb()                {}
func (*StartStream) isVerb()        {}
func (*StopStream) isVerb()         {}
func (*StartTranscription) isVerb() {}
func (*StopTranscription) isVerb()  {}
func (*Refer) isVerb()              {}
func (*Connect) isVerb()            {}

func (*SpeakSentence) isPrompt() {}
func (*PlayAudio) isPrompt()     {}

func (p *PhoneNumber) Address() string         { return p.Number }
func (p *PhoneNumber) Options() *TargetOptions { return &p.TargetOptions }
func (*PhoneNumber) isTarget()                 {}
func (s *SipURI) Address() string              { return s.URI }
func (s *SipURI) Options() *TargetOptions      { return &s.TargetOptions }
func (*SipURI) isTarget()                      {}
