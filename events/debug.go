package events

import "time"

// Debugger entry kinds.
const (
	DebugRefused = "refused" // a SIP request the front door refused
	DebugWebhook = "webhook" // a callback that failed
	DebugModule  = "module"  // a module that trapped, timed out or answered badly
	DebugCall    = "call"    // another error in a call's log
)

// Debug is one entry of an account's debugger feed.
type Debug struct {
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind"`
	Status        int       `json:"status,omitempty"` // SIP status of a refusal
	Reason        string    `json:"reason,omitempty"` // why, as the metrics label says it
	Method        string    `json:"method,omitempty"`
	Source        string    `json:"source,omitempty"` // the peer's address
	RequestURI    string    `json:"requestUri,omitempty"`
	SIPCallID     string    `json:"sipCallId,omitempty"`
	ApplicationID string    `json:"applicationId,omitempty"`
	CallID        string    `json:"callId,omitempty"`
	Level         string    `json:"level,omitempty"` // of a log line: DEBUG, INFO, WARN, ERROR
	Message       string    `json:"message,omitempty"`
}
