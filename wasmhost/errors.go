package wasmhost

import (
	"errors"
	"fmt"
)

// ErrRejected is matched (errors.Is) by every error Compile returns for a
// module that is not acceptable: the API answers those with 400. The
// *RejectError also matches one of the specific kinds below.
var ErrRejected = errors.New("wasmhost: module rejected")

// Kinds of rejection, wrapped in a *RejectError.
var (
	ErrNotWasm           = errors.New("not a valid WebAssembly module")
	ErrModuleTooLarge    = errors.New("module too large")
	ErrMissingExport     = errors.New("required export missing")
	ErrExportSignature   = errors.New("export has the wrong signature")
	ErrImportNotAllowed  = errors.New("import not allowed")
	ErrNotReactor        = errors.New("module is a WASI command, not a reactor")
	ErrMemoryTooLarge    = errors.New("initial memory above the cap")
	ErrUnsupportedModule = errors.New("module shape not supported")
)

// RejectError says precisely why Compile refused a module.
type RejectError struct {
	Kind   error  // one of the Err* kinds above
	Detail string // human-readable, safe to show the uploader
}

func (e *RejectError) Error() string { return fmt.Sprintf("%v: %s", e.Kind, e.Detail) }

// Unwrap lets errors.Is match both ErrRejected and the kind.
func (e *RejectError) Unwrap() []error { return []error{ErrRejected, e.Kind} }

func reject(kind error, format string, args ...any) error {
	return &RejectError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Kinds of event failure, wrapped in an *EventError. After any of them
// except ErrGuest the instance that ran the event has been closed.
var (
	// ErrTimeout: the event ran past its deadline.
	ErrTimeout = errors.New("wasm handler timed out")
	// ErrCanceled: the caller's context ended before the handler did.
	ErrCanceled = errors.New("wasm handler canceled")
	// ErrTrap: the guest trapped, exited or panicked.
	ErrTrap = errors.New("wasm handler trapped")
	// ErrMemoryLimit: the guest tried to grow memory past its cap.
	ErrMemoryLimit = errors.New("wasm handler exceeded its memory cap")
	// ErrBadDecision: the guest wrote no decision, an oversized one or one
	// that does not decode or validate.
	ErrBadDecision = errors.New("wasm handler returned a bad decision")
	// ErrGuest: the guest answered with an error decision on purpose. The
	// instance stays in the pool.
	ErrGuest = errors.New("wasm handler reported an error")
	// ErrInstantiate: a new instance could not be created.
	ErrInstantiate = errors.New("wasm instance could not start")
)

// Errors Handle returns without running the guest.
var (
	ErrPoolClosed    = errors.New("wasmhost: pool closed")
	ErrEventTooLarge = errors.New("wasmhost: event too large")
)

// EventError describes a failed event; errors.Is matches its Kind.
type EventError struct {
	Kind   error
	Module string // the module name the pool was built with
	Detail string
	// Stderr is the start of what the guest wrote to stderr during the
	// event (a Go "fatal error: ..." line, for instance).
	Stderr string
}

func (e *EventError) Error() string {
	s := fmt.Sprintf("module %s: %v", e.Module, e.Kind)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Stderr != "" {
		s += " (stderr: " + e.Stderr + ")"
	}
	return s
}

func (e *EventError) Unwrap() error { return e.Kind }

// kindLabel names an error kind for metrics.
func kindLabel(err error) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrCanceled):
		return "canceled"
	case errors.Is(err, ErrMemoryLimit):
		return "memory"
	case errors.Is(err, ErrTrap):
		return "trap"
	case errors.Is(err, ErrBadDecision):
		return "bad_decision"
	case errors.Is(err, ErrGuest):
		return "guest_error"
	case errors.Is(err, ErrInstantiate):
		return "instantiate"
	case errors.Is(err, ErrEventTooLarge):
		return "event_too_large"
	case errors.Is(err, ErrPoolClosed):
		return "pool_closed"
	}
	return "other"
}
