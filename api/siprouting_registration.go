package api

import "time"

// SIPRegistrationView is the state of the REGISTER binding the node keeps
// at a customer's PBX for a register-mode inbound configuration, so a
// failing registration (wrong credentials, PBX unreachable) is visible.
type SIPRegistrationView struct {
	State       string     `json:"state" enum:"registered,failing,pending" doc:"registered: the PBX holds a binding; failing: the last attempt failed (see error), retried with backoff; pending: the first attempt is under way."`
	Error       string     `json:"error,omitempty" doc:"Why the last attempt failed."`
	LastAttempt *time.Time `json:"last_attempt" nullable:"true"`
	Expires     *time.Time `json:"expires" nullable:"true" doc:"When the current binding lapses; it is refreshed before."`
}

// SIPRegistrations is implemented by a call engine that registers to PBXes:
// the registration serving an inbound configuration, by configuration ID
// (ok false when the node keeps none for it).
type SIPRegistrations interface {
	SIPRegistration(configID string) (v SIPRegistrationView, ok bool)
}

// registrationView returns the registration of an inbound configuration,
// when the engine keeps one.
func (s *Server) registrationView(configID string) *SIPRegistrationView {
	rs, ok := s.cfg.Calls.(SIPRegistrations)
	if !ok {
		return nil
	}
	v, ok := rs.SIPRegistration(configID)
	if !ok {
		return nil
	}
	return &v
}
