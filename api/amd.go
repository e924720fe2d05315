package api

// MachineDetection is createCall's machineDetection object, as in the Voice
// API: answering machine detection on the answered call.
type MachineDetection struct {
	Mode                      *string  `json:"mode,omitempty" enum:"sync,async" default:"async" nullable:"true" doc:"sync: the answer callback waits for the result and carries it as machineDetectionResult. async: the answer callback goes at once; the result follows as a machineDetectionComplete callback."`
	DetectionTimeout          *float64 `json:"detectionTimeout,omitempty" minimum:"0" maximum:"600" default:"15" nullable:"true" doc:"Seconds the whole detection may take; no decision by then is the result timeout."`
	SilenceTimeout            *float64 `json:"silenceTimeout,omitempty" minimum:"0" maximum:"600" default:"10" nullable:"true" doc:"Seconds without speech before the result is silence."`
	SpeechThreshold           *float64 `json:"speechThreshold,omitempty" minimum:"0" maximum:"600" default:"10" nullable:"true" doc:"Seconds of speech from which the callee is an answering machine."`
	SpeechEndThreshold        *float64 `json:"speechEndThreshold,omitempty" minimum:"0" maximum:"600" default:"5" nullable:"true" doc:"Seconds of silence after which the callee has finished speaking."`
	MachineSpeechEndThreshold *float64 `json:"machineSpeechEndThreshold,omitempty" minimum:"0" maximum:"600" nullable:"true" doc:"Seconds of silence after which a machine's greeting is over (delayResult); defaults to speechEndThreshold."`
	DelayResult               *bool    `json:"delayResult,omitempty" default:"false" nullable:"true" doc:"Hold an answering-machine result until the greeting is over (its beep, machineSpeechEndThreshold of silence, or detectionTimeout)."`
	CallbackURL               *string  `json:"callbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true" doc:"Where machineDetectionComplete goes (async mode); the answerUrl when absent."`
	CallbackMethod            *string  `json:"callbackMethod,omitempty" enum:"GET,POST" default:"POST" nullable:"true"`
	Username                  *string  `json:"username,omitempty" maxLength:"1024" nullable:"true"`
	Password                  *string  `json:"password,omitempty" maxLength:"1024" nullable:"true"`
	FallbackURL               *string  `json:"fallbackUrl,omitempty" maxLength:"2048" format:"uri" nullable:"true"`
	FallbackMethod            *string  `json:"fallbackMethod,omitempty" enum:"GET,POST" default:"POST" nullable:"true"`
	FallbackUsername          *string  `json:"fallbackUsername,omitempty" maxLength:"1024" nullable:"true"`
	FallbackPassword          *string  `json:"fallbackPassword,omitempty" maxLength:"1024" nullable:"true"`
}
