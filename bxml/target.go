package bxml

import "time"

// Target is where a callback goes: the URL and method, the fallback tried
// once when the first attempt fails, and credentials for each. URLs may be
// relative; the sender resolves them against the URL that served the
// document. Empty methods mean POST.
type Target struct {
	URL              string
	Method           string
	FallbackURL      string
	FallbackMethod   string
	Username         string
	Password         string
	FallbackUsername string
	FallbackPassword string
	// Timeout overrides the sender's default per-request timeout (0 keeps
	// it), from callbackTimeout where the API or a verb sets one.
	Timeout time.Duration
}

// IsZero reports whether no URL is set (the callback is not sent).
func (t Target) IsZero() bool { return t.URL == "" }

// Targets of each verb's callbacks, so the engine never re-maps attributes.

// GatherTarget is where the gather event goes.
func (g *Gather) GatherTarget() Target {
	return Target{g.GatherURL, g.GatherMethod, g.GatherFallbackURL, g.GatherFallbackMethod,
		g.Username, g.Password, g.FallbackUsername, g.FallbackPassword, 0}
}

// DtmfTarget is where each dtmf event goes.
func (g *StartGather) DtmfTarget() Target {
	return Target{URL: g.DtmfURL, Method: g.DtmfMethod, Username: g.Username, Password: g.Password}
}

// RecordCompleteTarget is where recordComplete goes.
func (r *Record) RecordCompleteTarget() Target {
	return Target{r.RecordCompleteURL, r.RecordCompleteMethod, r.RecordCompleteFallbackURL, r.RecordCompleteFallbackMethod,
		r.Username, r.Password, r.FallbackUsername, r.FallbackPassword, 0}
}

// RecordingAvailableTarget is where recordingAvailable goes.
func (r *Record) RecordingAvailableTarget() Target {
	return Target{URL: r.RecordingAvailableURL, Method: r.RecordingAvailableMethod, Username: r.Username, Password: r.Password}
}

// RecordingAvailableTarget is where recordingAvailable goes.
func (r *StartRecording) RecordingAvailableTarget() Target {
	return Target{URL: r.RecordingAvailableURL, Method: r.RecordingAvailableMethod, Username: r.Username, Password: r.Password}
}

// TranscriptionAvailableTarget is where transcriptionAvailable goes.
func (r *Record) TranscriptionAvailableTarget() Target {
	return Target{URL: r.TranscriptionAvailableURL, Method: r.TranscriptionAvailableMethod, Username: r.Username, Password: r.Password}
}

// TranscriptionAvailableTarget is where transcriptionAvailable goes.
func (r *StartRecording) TranscriptionAvailableTarget() Target {
	return Target{URL: r.TranscriptionAvailableURL, Method: r.TranscriptionAvailableMethod, Username: r.Username, Password: r.Password}
}

// TransferCompleteTarget is where transferComplete goes.
func (t *Transfer) TransferCompleteTarget() Target {
	return Target{t.TransferCompleteURL, t.TransferCompleteMethod, t.TransferCompleteFallbackURL, t.TransferCompleteFallbackMethod,
		t.Username, t.Password, t.FallbackUsername, t.FallbackPassword, 0}
}

// TransferAnswerTarget is where transferAnswer goes for this target.
func (o *TargetOptions) TransferAnswerTarget() Target {
	return Target{o.TransferAnswerURL, o.TransferAnswerMethod, o.TransferAnswerFallbackURL, o.TransferAnswerFallbackMethod,
		o.Username, o.Password, o.FallbackUsername, o.FallbackPassword, 0}
}

// TransferDisconnectTarget is where transferDisconnect goes for this target.
func (o *TargetOptions) TransferDisconnectTarget() Target {
	return Target{URL: o.TransferDisconnectURL, Method: o.TransferDisconnectMethod, Username: o.Username, Password: o.Password}
}

// BridgeCompleteTarget is where bridgeComplete goes.
func (b *Bridge) BridgeCompleteTarget() Target {
	return Target{b.BridgeCompleteURL, b.BridgeCompleteMethod, b.BridgeCompleteFallbackURL, b.BridgeCompleteFallbackMethod,
		b.Username, b.Password, b.FallbackUsername, b.FallbackPassword, 0}
}

// BridgeTargetCompleteTarget is where bridgeTargetComplete goes (for the
// target call).
func (b *Bridge) BridgeTargetCompleteTarget() Target {
	return Target{b.BridgeTargetCompleteURL, b.BridgeTargetCompleteMethod, b.BridgeTargetCompleteFallbackURL, b.BridgeTargetCompleteFallbackMethod,
		b.Username, b.Password, b.FallbackUsername, b.FallbackPassword, 0}
}

// RedirectTarget is where the redirect event goes.
func (r *Redirect) RedirectTarget() Target {
	return Target{r.RedirectURL, r.RedirectMethod, r.RedirectFallbackURL, r.RedirectFallbackMethod,
		r.Username, r.Password, r.FallbackUsername, r.FallbackPassword, 0}
}
