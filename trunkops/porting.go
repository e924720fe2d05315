package trunkops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// Number porting: a self-hosted server is its own carrier, so a port
// request is a record an operator walks through the states the losing
// carrier's answers put it in (POST /v1/sip/port/{id}/advance), with a
// webhook to the requester on each change; a completed port makes the
// numbers the account's own on this server.

// ErrInvalidTransition refuses a status change the state machine does not
// allow (409).
var ErrInvalidTransition = errors.New("invalid port status transition")

// portTransitions are the allowed status changes; final states have none.
var portTransitions = map[string][]string{
	store.PortWaitingForSignature: {store.PortSubmitted, store.PortCanceled},
	store.PortSubmitted:           {store.PortInProgress, store.PortFailed, store.PortCanceled},
	store.PortInProgress:          {store.PortCompleted, store.PortFailed, store.PortCanceled},
}

// PortStatuses are every port status, in the order a port goes through them.
var PortStatuses = []string{store.PortWaitingForSignature, store.PortSubmitted, store.PortInProgress,
	store.PortCompleted, store.PortFailed, store.PortCanceled}

// MinPortLeadTime is how far out a port's target date must be: losing
// carriers need that long to release numbers.
const MinPortLeadTime = 7 * 24 * time.Hour

// Porting keeps port requests.
type Porting struct {
	store  *store.Store
	docs   string // directory of uploaded documents
	notify *Notifier
	log    *slog.Logger
	now    func() time.Time // tests move the clock
}

// NewPorting returns the node's porting desk; documents go under
// dataDir/ports.
func NewPorting(st *store.Store, dataDir string, n *Notifier, log *slog.Logger) *Porting {
	if log == nil {
		log = slog.Default()
	}
	return &Porting{store: st, docs: dataDir + "/ports", notify: n, log: log.With("component", "porting"), now: time.Now}
}

// PortCheck is one number's portability.
type PortCheck struct {
	Number   string // E.164 when valid, else as given
	Valid    bool
	Portable bool
	Reason   string // why not portable, or a note
}

// Check says which numbers can be ported into accountID.
func (p *Porting) Check(ctx context.Context, accountID string, numbers []string) ([]PortCheck, error) {
	out := make([]PortCheck, len(numbers))
	var valid []string
	for i, raw := range numbers {
		n, err := store.NormalizePhoneNumber(raw, false)
		if err != nil {
			out[i] = PortCheck{Number: raw, Reason: "not an E.164 number: " + err.Error()}
			continue
		}
		out[i] = PortCheck{Number: n, Valid: true}
		valid = append(valid, n)
	}
	states, err := p.store.NumberPortStates(ctx, valid)
	if err != nil {
		return nil, err
	}
	for i := range out {
		c := &out[i]
		if !c.Valid {
			continue
		}
		st := states[c.Number]
		switch {
		case st.OwnerAccountID == accountID:
			c.Reason = "already on this server: ported into this account"
		case st.OwnerAccountID != "":
			c.Reason = "already on this server in another account"
		case st.ActivePortID != "" && st.PortAccountID == accountID:
			c.Reason = "already in port " + st.ActivePortID
		case st.ActivePortID != "":
			c.Reason = "already in another account's port"
		case slices.ContainsFunc(st.ConfiguredIn, func(a string) bool { return a != accountID }):
			c.Reason = "in use by another account on this server"
		default:
			c.Portable = true
			if len(st.ConfiguredIn) > 0 {
				c.Reason = "attached to a SIP configuration of this account; porting makes this server its carrier"
			}
		}
	}
	return out, nil
}

// PortRequest is POST /v1/sip/port/initiate's content.
type PortRequest struct {
	Numbers        []string
	Representative store.PortRepresentative
	ServiceAddress store.PortAddress
	TargetDate     string
	DocumentID     string
	WebhookURL     string
}

// Initiate validates and stores a port request. Mistakes are
// *store.ValidationError naming the field; a number another port holds is
// store.ErrNumberInPort.
func (p *Porting) Initiate(ctx context.Context, accountID string, r PortRequest) (store.Port, error) {
	if len(r.Numbers) == 0 {
		return store.Port{}, &store.ValidationError{Field: "phone_numbers", Reason: "required: at least one number"}
	}
	if len(r.Numbers) > store.MaxNumbersPerRequest {
		return store.Port{}, &store.ValidationError{Field: "phone_numbers", Value: len(r.Numbers), Reason: fmt.Sprintf("at most %d numbers per port", store.MaxNumbersPerRequest)}
	}
	checks, err := p.Check(ctx, accountID, r.Numbers)
	if err != nil {
		return store.Port{}, err
	}
	numbers := make([]string, 0, len(checks))
	for i, c := range checks {
		if !c.Portable {
			return store.Port{}, &store.ValidationError{Field: fmt.Sprintf("phone_numbers[%d]", i), Value: r.Numbers[i], Reason: "not portable: " + c.Reason}
		}
		if slices.Contains(numbers, c.Number) {
			return store.Port{}, &store.ValidationError{Field: fmt.Sprintf("phone_numbers[%d]", i), Value: r.Numbers[i], Reason: "listed twice"}
		}
		numbers = append(numbers, c.Number)
	}
	if err := validateRepresentative(r.Representative); err != nil {
		return store.Port{}, err
	}
	if err := validateAddress(r.ServiceAddress); err != nil {
		return store.Port{}, err
	}
	target, err := time.Parse(time.DateOnly, r.TargetDate)
	if err != nil {
		return store.Port{}, &store.ValidationError{Field: "target_date", Value: r.TargetDate, Reason: "must be a date YYYY-MM-DD"}
	}
	if earliest := p.now().UTC().Add(MinPortLeadTime).Truncate(24 * time.Hour); target.Before(earliest) {
		return store.Port{}, &store.ValidationError{Field: "target_date", Value: r.TargetDate,
			Reason: "must be at least 7 days out: " + earliest.Format(time.DateOnly) + " or later"}
	}
	if r.DocumentID == "" {
		return store.Port{}, &store.ValidationError{Field: "document_id", Reason: "required: upload the letter of authorization with POST /v1/sip/port/document"}
	}
	if _, err := p.store.PortDocument(ctx, accountID, r.DocumentID); errors.Is(err, store.ErrNotFound) {
		return store.Port{}, &store.ValidationError{Field: "document_id", Value: r.DocumentID, Reason: "no such document in this account"}
	} else if err != nil {
		return store.Port{}, err
	}
	if r.WebhookURL != "" {
		if u, err := url.Parse(r.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r.WebhookURL) > 2048 {
			return store.Port{}, &store.ValidationError{Field: "webhook_url", Value: r.WebhookURL, Reason: "must be an absolute http:// or https:// URL"}
		}
	}
	port, err := p.store.CreatePort(ctx, store.Port{AccountID: accountID, Numbers: numbers, Representative: r.Representative,
		ServiceAddress: r.ServiceAddress, TargetDate: target.Format(time.DateOnly), DocumentID: r.DocumentID, WebhookURL: r.WebhookURL})
	if err != nil {
		return store.Port{}, err
	}
	p.log.Info("port requested", "accountId", accountID, "portId", port.ID, "numbers", len(numbers), "targetDate", port.TargetDate)
	p.changed(port, "")
	return port, nil
}

func validateRepresentative(r store.PortRepresentative) error {
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 200 {
		return &store.ValidationError{Field: "authorized_representative.name", Value: r.Name, Reason: "required, at most 200 characters"}
	}
	if len(r.Title) > 200 {
		return &store.ValidationError{Field: "authorized_representative.title", Value: r.Title, Reason: "at most 200 characters"}
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
			return &store.ValidationError{Field: "authorized_representative.email", Value: r.Email, Reason: "must be an email address such as jane@example.com"}
		}
	}
	if r.Phone != "" {
		if _, err := store.NormalizePhoneNumber(r.Phone, false); err != nil {
			return &store.ValidationError{Field: "authorized_representative.phone", Value: r.Phone, Reason: "must be an E.164 number"}
		}
	}
	return nil
}

func validateAddress(a store.PortAddress) error {
	for _, f := range []struct{ name, v string }{{"line1", a.Line1}, {"city", a.City}, {"postal_code", a.PostalCode}} {
		if strings.TrimSpace(f.v) == "" || len(f.v) > 200 {
			return &store.ValidationError{Field: "service_address." + f.name, Value: f.v, Reason: "required, at most 200 characters"}
		}
	}
	for _, f := range []struct{ name, v string }{{"line2", a.Line2}, {"state", a.State}} {
		if len(f.v) > 200 {
			return &store.ValidationError{Field: "service_address." + f.name, Value: f.v, Reason: "at most 200 characters"}
		}
	}
	if len(a.Country) != 2 || strings.ToUpper(a.Country) != a.Country {
		return &store.ValidationError{Field: "service_address.country", Value: a.Country, Reason: "an ISO 3166-1 alpha-2 code such as US"}
	}
	return nil
}

// Ports lists an account's ports, newest first.
func (p *Porting) Ports(ctx context.Context, accountID string) ([]store.Port, error) {
	return p.store.Ports(ctx, accountID, 100)
}

// Port reads one of an account's ports; store.ErrNotFound when it has none
// by that ID.
func (p *Porting) Port(ctx context.Context, accountID, id string) (store.Port, error) {
	return p.store.Port(ctx, accountID, id)
}

// Cancel cancels an account's port; ErrInvalidTransition once it is final.
func (p *Porting) Cancel(ctx context.Context, accountID, id string) (store.Port, error) {
	return p.move(ctx, accountID, id, store.PortCanceled, "canceled by the account")
}

// Advance moves any account's port to status (the operator's route);
// ErrInvalidTransition when the state machine does not allow it.
func (p *Porting) Advance(ctx context.Context, id, status, reason string) (store.Port, error) {
	if !slices.Contains(PortStatuses, status) {
		return store.Port{}, &store.ValidationError{Field: "status", Value: status, Reason: "one of " + strings.Join(PortStatuses, ", ")}
	}
	if len(reason) > 500 {
		return store.Port{}, &store.ValidationError{Field: "reason", Value: len(reason), Reason: "at most 500 characters"}
	}
	return p.move(ctx, "", id, status, reason)
}

func (p *Porting) move(ctx context.Context, accountID, id, status, reason string) (store.Port, error) {
	port, err := p.store.Port(ctx, accountID, id)
	if err != nil {
		return store.Port{}, err
	}
	if !slices.Contains(portTransitions[port.Status], status) {
		return store.Port{}, fmt.Errorf("%w: %s to %s (from %s: %s)", ErrInvalidTransition, port.Status, status, port.Status, allowedFrom(port.Status))
	}
	prev := port.Status
	if port, err = p.store.SetPortStatus(ctx, port, status, reason); err != nil {
		if errors.Is(err, store.ErrPortStateChanged) {
			return store.Port{}, fmt.Errorf("%w: %w", ErrInvalidTransition, err)
		}
		return store.Port{}, err
	}
	p.log.Info("port status changed", "portId", id, "accountId", port.AccountID, "from", prev, "to", status, "reason", reason)
	p.changed(port, prev)
	return port, nil
}

func allowedFrom(status string) string {
	next := portTransitions[status]
	if len(next) == 0 {
		return "final, no change allowed"
	}
	return "may go to " + strings.Join(next, ", ")
}

// PortWebhook is the JSON a port's webhook_url receives on each change.
type PortWebhook struct {
	Event          string   `json:"event"`
	PortID         string   `json:"port_id"`
	Status         string   `json:"status"`
	PreviousStatus *string  `json:"previous_status"`
	Reason         string   `json:"reason,omitempty"`
	PhoneNumbers   []string `json:"phone_numbers"`
	TargetDate     string   `json:"target_date"`
	At             string   `json:"at"`
}

func (p *Porting) changed(port store.Port, prev string) {
	if p.notify == nil || port.WebhookURL == "" {
		return
	}
	ev := PortWebhook{Event: "port.status_changed", PortID: port.ID, Status: port.Status, Reason: port.Reason,
		PhoneNumbers: port.Numbers, TargetDate: port.TargetDate, At: port.UpdatedAt.Format(time.RFC3339Nano)}
	if prev != "" {
		ev.PreviousStatus = &prev
	}
	p.notify.Send(port.WebhookURL, "port", ev)
}
