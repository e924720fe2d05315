package sdk

import "fmt"

// HandlerFunc answers one event.
type HandlerFunc func(Event) Decision

var (
	handlers = map[EventType]HandlerFunc{}
	fallback HandlerFunc
)

// Handle registers the handler for every event type that has no handler of
// its own (see On). Call it from init: a reactor's main never runs.
func Handle(h HandlerFunc) { fallback = h }

// On registers the handler for one event type.
func On(t EventType, h HandlerFunc) { handlers[t] = h }

// Reset removes every registered handler (for tests).
func Reset() {
	handlers = map[EventType]HandlerFunc{}
	fallback = nil
}

// Dispatch runs the registered handler for one event in its wire form and
// returns the decision in its wire form and the wasmvoice_handle return
// code. It is exactly what the exported wasmvoice_handle does around the host
// calls, so native tests of guest logic exercise the same path.
//
// An event with no handler answers Continue for SIP hooks, and for call
// events an empty decision, marked Unhandled when the event carries
// UnhandledOKMember (the host then sends that event type to this module no
// more).
// UnhandledOKMember is the event member (true) by which a host says it
// accepts a decision marked Unhandled.
const UnhandledOKMember = "unhandledOk"

func Dispatch(eventJSON []byte) (decisionJSON []byte, code int32) {
	defer func() {
		if r := recover(); r != nil {
			decisionJSON = errorDecision(fmt.Sprintf("panic: %v", r))
			code = HandlePanicked
		}
	}()
	ev, err := decodeEvent(eventJSON)
	if err != nil {
		return errorDecision(err.Error()), HandleOK
	}
	if ev.V != ABIVersion {
		return errorDecision(fmt.Sprintf("unsupported event version %d", ev.V)), HandleOK
	}
	h := handlers[ev.Type]
	if h == nil {
		h = fallback
	}
	var d Decision
	switch {
	case h != nil:
		d = h(ev)
	case ev.Type.IsSIP():
		d = Continue()
	default:
		// Only a host that says it understands the member gets it: an
		// older one refuses unknown decision members.
		ok, _ := ev.Value(UnhandledOKMember).(bool)
		d = Decision{V: ABIVersion, Unhandled: ok}
	}
	if d.V == 0 {
		d.V = ABIVersion
	}
	out, err := d.MarshalJSON()
	if err != nil {
		return errorDecision(fmt.Sprintf("encode decision: %v", err)), HandleOK
	}
	return out, HandleOK
}

func errorDecision(msg string) []byte {
	return Decision{V: ABIVersion, Error: msg}.appendJSON(nil)
}
