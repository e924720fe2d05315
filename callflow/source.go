// Package callflow is the seam between the call engine and where BXML
// comes from: a Source answers a callback event with a BXML document. The
// Webhook source POSTs (or GETs) the event to the application's URL, with a
// fallback URL, Basic auth, a timeout and a size cap; a Wasm source hands
// the same event to a module. Everything after that is one interpreter
// (bxml.Run).
package callflow

import (
	"context"
	"errors"
	"strings"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// Source answers callback events with BXML.
type Source interface {
	// Fetch delivers req.Event to req.Target and returns the BXML that
	// came back. Reply.Doc is nil when the application answered with an
	// empty body, or when the event does not take BXML (disconnect, dtmf,
	// recordingAvailable, transferDisconnect), whose response is ignored.
	// Errors match ErrCallback (cause callback-error) or ErrInvalidBXML
	// (cause invalid-bxml); Cause maps them.
	Fetch(ctx context.Context, req Request) (Reply, error)
}

// Request is one callback to deliver.
type Request struct {
	// Event is the body; the engine has completed it with Fill. Fetch
	// sets its eventType, and its eventTime when still zero.
	Event bxml.Event
	// Target is where it goes: URL, method, fallback and credentials,
	// from the verb or the application.
	Target bxml.Target
	// Base is the URL that served the document whose verb produced this
	// callback; relative Target URLs resolve against it, as Bandwidth
	// does. Empty for application-level URLs, which are absolute.
	Base string
	// Call is the call the event belongs to: which application (and so
	// which module) answers, and the variables that go with the event. Nil
	// for an event that belongs to no call.
	Call Call
}

// Reply is the answer to a callback.
type Reply struct {
	// Doc is the BXML to run next; nil means none (empty body or an event
	// whose response is ignored).
	Doc *bxml.Document
	// URL is the URL that answered: the Base for relative URLs in Doc.
	URL string
	// Fallback is true when the fallback URL answered.
	Fallback bool
}

// Error kinds the engine maps to disconnect causes.
var (
	// ErrCallback: the callback could not be delivered (timeout,
	// connection error or non-2xx) on the URL and on its fallback.
	ErrCallback = errors.New("callback failed")
	// ErrInvalidBXML: the application answered, but not with a valid
	// BXML document (malformed, unknown verb, too large, not XML).
	ErrInvalidBXML = errors.New("invalid BXML response")
)

// Cause maps an error from Fetch (or from bxml.Run) to the disconnect
// cause the call ends with; other errors are application-error. It
// returns "" for nil.
func Cause(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInvalidBXML), errors.Is(err, bxml.ErrInvalid):
		return bxml.CauseInvalidBXML
	case errors.Is(err, ErrCallback):
		return bxml.CauseCallbackError
	}
	return bxml.CauseApplicationError
}

// Attempt is one failed delivery.
type Attempt struct {
	URL    string // redacted of any password
	Status int    // HTTP status, 0 when none arrived
	Err    error
}

// CallbackError reports that every attempt of a callback failed. It
// matches ErrCallback.
type CallbackError struct {
	Event    bxml.EventType
	Attempts []Attempt
}

func (e *CallbackError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Event))
	b.WriteString(" callback failed")
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; fallback ")
		}
		b.WriteString(a.URL)
		b.WriteString(": ")
		b.WriteString(a.Err.Error())
	}
	return b.String()
}

// Is makes CallbackError match ErrCallback.
func (e *CallbackError) Is(target error) bool { return target == ErrCallback }

// Unwrap exposes each attempt's error (timeouts, connection errors).
func (e *CallbackError) Unwrap() []error {
	out := make([]error, 0, len(e.Attempts))
	for _, a := range e.Attempts {
		out = append(out, a.Err)
	}
	return out
}

// BXMLError reports a response that is not a valid BXML document. It
// matches ErrInvalidBXML, and bxml.ErrInvalid when the parser rejected it.
type BXMLError struct {
	URL string
	Err error // a *bxml.Error, or why the body is not a document at all
}

func (e *BXMLError) Error() string { return "invalid BXML from " + e.URL + ": " + e.Err.Error() }

// Is makes BXMLError match ErrInvalidBXML.
func (e *BXMLError) Is(target error) bool { return target == ErrInvalidBXML }

// Unwrap returns the parser's error.
func (e *BXMLError) Unwrap() error { return e.Err }
