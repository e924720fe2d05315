package server

import (
	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/speech"
)

// machineDetection maps createCall's machineDetection to the engine's.
func machineDetection(m *api.MachineDetection) *calls.MachineDetection {
	if m == nil {
		return nil
	}
	return &calls.MachineDetection{
		Mode: deref(m.Mode),
		AMDConfig: speech.AMDConfig{
			DetectionTimeout: seconds(m.DetectionTimeout), SilenceTimeout: seconds(m.SilenceTimeout),
			SpeechThreshold: seconds(m.SpeechThreshold), SpeechEndThreshold: seconds(m.SpeechEndThreshold),
			MachineSpeechEndThreshold: seconds(m.MachineSpeechEndThreshold),
			DelayResult:               m.DelayResult != nil && *m.DelayResult,
		},
		Callback: bxml.Target{
			URL: deref(m.CallbackURL), Method: orPOST(deref(m.CallbackMethod)),
			FallbackURL: deref(m.FallbackURL), FallbackMethod: orPOST(deref(m.FallbackMethod)),
			Username: deref(m.Username), Password: deref(m.Password),
			FallbackUsername: deref(m.FallbackUsername), FallbackPassword: deref(m.FallbackPassword),
		},
	}
}

func orPOST(method string) string {
	if method == "" {
		return "POST"
	}
	return method
}
