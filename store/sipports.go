package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Number porting (issue 16 item 8): port requests, their documents, and the
// numbers a completed port brings to the server. The state machine's rules
// live in trunkops; the store persists a transition only from the state the
// caller read (compare and set), so two operators cannot both move a port.

// Port states.
const (
	PortWaitingForSignature = "waiting_for_signature"
	PortSubmitted           = "submitted"
	PortInProgress          = "in_progress"
	PortCompleted           = "completed"
	PortFailed              = "failed"
	PortCanceled            = "canceled"
)

// PortFinal reports whether a port in status can change no more.
func PortFinal(status string) bool {
	return status == PortCompleted || status == PortFailed || status == PortCanceled
}

// ErrPortStateChanged is a transition whose port is no longer in the
// state it was read in.
var ErrPortStateChanged = fmt.Errorf("the port's status changed meanwhile: %w", ErrConflict)

// PortDocument is an uploaded letter of authorization or bill; its bytes
// are a file under the data dir.
type PortDocument struct {
	ID          string
	AccountID   string
	FileName    string
	ContentType string
	Size        int64
	SHA256      string
	CreatedAt   time.Time
}

// PortRepresentative is who authorized the port at the losing carrier.
type PortRepresentative struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// PortAddress is the service address on the losing carrier's account.
type PortAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// PortEvent is one status change of a port.
type PortEvent struct {
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Port is a port request.
type Port struct {
	ID             string
	AccountID      string
	Status         string
	Numbers        []string
	Representative PortRepresentative
	ServiceAddress PortAddress
	TargetDate     string // YYYY-MM-DD
	DocumentID     string
	WebhookURL     string
	Reason         string // why it failed or was canceled
	History        []PortEvent
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// CreatePortDocument records an uploaded document (its file written by
// the caller, under id).
func (s *Store) CreatePortDocument(ctx context.Context, d PortDocument) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sip_port_documents (id, account_id, file_name, content_type,
		size_bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.AccountID, d.FileName, d.ContentType, d.Size, d.SHA256, d.CreatedAt)
	if err != nil {
		return fmt.Errorf("create port document: %w", err)
	}
	return nil
}

// PortDocument reads one document of an account.
func (s *Store) PortDocument(ctx context.Context, accountID, id string) (PortDocument, error) {
	var r struct {
		ID          string    `db:"id"`
		AccountID   string    `db:"account_id"`
		FileName    string    `db:"file_name"`
		ContentType string    `db:"content_type"`
		Size        int64     `db:"size_bytes"`
		SHA256      string    `db:"sha256"`
		CreatedAt   time.Time `db:"created_at"`
	}
	err := s.db.GetContext(ctx, &r, s.rebind(`SELECT id, account_id, file_name, content_type, size_bytes, sha256, created_at
		FROM sip_port_documents WHERE id = ? AND account_id = ?`), id, accountID)
	if err != nil {
		return PortDocument{}, notFound(err, "port document "+id)
	}
	return PortDocument(r), nil
}

// NewPortID returns a fresh port or document ID with prefix.
func NewPortID(prefix string) string {
	return prefix + strings.ReplaceAll(uuid.NewString(), "-", "")
}

// NumberPortState says where a number stands for porting: owned here
// (ported in, by which account), attached to SIP configurations (in how
// many accounts), in an active port (which one and its account).
type NumberPortState struct {
	OwnerAccountID string
	ConfiguredIn   []string // account IDs with a SIP configuration of it
	ActivePortID   string
	PortAccountID  string
}

// NumberPortStates reads the porting state of numbers (E.164).
func (s *Store) NumberPortStates(ctx context.Context, numbers []string) (map[string]NumberPortState, error) {
	out := make(map[string]NumberPortState, len(numbers))
	if len(numbers) == 0 {
		return out, nil
	}
	type row struct {
		Number  string `db:"phone_number"`
		Account string `db:"account_id"`
		Port    string `db:"port_id"`
	}
	queries := []struct {
		sql string
		set func(st *NumberPortState, r row)
	}{
		{"SELECT phone_number, account_id, port_id FROM sip_owned_numbers WHERE phone_number IN (?)",
			func(st *NumberPortState, r row) { st.OwnerAccountID = r.Account }},
		{"SELECT DISTINCT phone_number, account_id, '' AS port_id FROM sip_configurations WHERE phone_number IN (?)",
			func(st *NumberPortState, r row) { st.ConfiguredIn = append(st.ConfiguredIn, r.Account) }},
		{`SELECT n.phone_number, p.account_id, p.id AS port_id FROM sip_port_numbers n JOIN sip_ports p ON p.id = n.port_id
			WHERE n.phone_number IN (?) AND n.active = TRUE`,
			func(st *NumberPortState, r row) { st.ActivePortID, st.PortAccountID = r.Port, r.Account }},
	}
	for _, q := range queries {
		sq, args, err := sqlx.In(q.sql, numbers)
		if err != nil {
			return nil, fmt.Errorf("number port states: %w", err)
		}
		var rows []row
		if err := s.db.SelectContext(ctx, &rows, s.rebind(sq), args...); err != nil {
			return nil, fmt.Errorf("number port states: %w", err)
		}
		for _, r := range rows {
			st := out[r.Number]
			q.set(&st, r)
			out[r.Number] = st
		}
	}
	return out, nil
}

// ErrNumberInPort refuses a port of a number already in an active port.
var ErrNumberInPort = fmt.Errorf("number is already in an active port: %w", ErrConflict)

// CreatePort stores a new port request in waiting_for_signature. A number
// in another active port is ErrNumberInPort (the unique check runs in the
// same transaction as the insert).
func (s *Store) CreatePort(ctx context.Context, p Port) (Port, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	p.ID, p.Status, p.CreatedAt, p.UpdatedAt = NewPortID("port_"), PortWaitingForSignature, now, now
	p.History = []PortEvent{{Status: p.Status, At: now}}
	rep, _ := json.Marshal(p.Representative)
	addr, _ := json.Marshal(p.ServiceAddress)
	hist, _ := json.Marshal(p.History)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Port{}, fmt.Errorf("create port: %w", err)
	}
	defer tx.Rollback()
	q, args, err := sqlx.In("SELECT phone_number FROM sip_port_numbers WHERE phone_number IN (?) AND active = TRUE", p.Numbers)
	if err != nil {
		return Port{}, fmt.Errorf("create port: %w", err)
	}
	var busy []string
	if err := tx.SelectContext(ctx, &busy, s.rebind(q), args...); err != nil {
		return Port{}, fmt.Errorf("create port: %w", err)
	}
	if len(busy) > 0 {
		return Port{}, fmt.Errorf("%s: %w", strings.Join(busy, ", "), ErrNumberInPort)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sip_ports (id, account_id, status, representative, service_address,
		target_date, document_id, webhook_url, reason, history, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)`),
		p.ID, p.AccountID, p.Status, string(rep), string(addr), p.TargetDate, p.DocumentID, p.WebhookURL, string(hist), now, now); err != nil {
		return Port{}, fmt.Errorf("create port: %w", err)
	}
	for _, n := range p.Numbers {
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO sip_port_numbers (port_id, phone_number, active) VALUES (?, ?, TRUE)"), p.ID, n); err != nil {
			return Port{}, fmt.Errorf("create port: number %s: %w", n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Port{}, fmt.Errorf("create port: %w", err)
	}
	return p, nil
}

type portRow struct {
	ID             string    `db:"id"`
	AccountID      string    `db:"account_id"`
	Status         string    `db:"status"`
	Representative string    `db:"representative"`
	ServiceAddress string    `db:"service_address"`
	TargetDate     string    `db:"target_date"`
	DocumentID     string    `db:"document_id"`
	WebhookURL     string    `db:"webhook_url"`
	Reason         string    `db:"reason"`
	History        string    `db:"history"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

const portColumns = "id, account_id, status, representative, service_address, target_date, document_id, webhook_url, reason, history, created_at, updated_at"

func (s *Store) portsFromRows(ctx context.Context, rows []portRow) ([]Port, error) {
	out := make([]Port, 0, len(rows))
	for _, r := range rows {
		p := Port{ID: r.ID, AccountID: r.AccountID, Status: r.Status, TargetDate: r.TargetDate, DocumentID: r.DocumentID,
			WebhookURL: r.WebhookURL, Reason: r.Reason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
		if err := errors.Join(json.Unmarshal([]byte(r.Representative), &p.Representative),
			json.Unmarshal([]byte(r.ServiceAddress), &p.ServiceAddress), json.Unmarshal([]byte(r.History), &p.History)); err != nil {
			return nil, fmt.Errorf("port %s: stored JSON: %w", r.ID, err)
		}
		if err := s.db.SelectContext(ctx, &p.Numbers, s.rebind("SELECT phone_number FROM sip_port_numbers WHERE port_id = ? ORDER BY phone_number"), r.ID); err != nil {
			return nil, fmt.Errorf("port %s numbers: %w", r.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Port reads one port; accountID "" reads any account's (the operator).
func (s *Store) Port(ctx context.Context, accountID, id string) (Port, error) {
	q, args := "SELECT "+portColumns+" FROM sip_ports WHERE id = ?", []any{id}
	if accountID != "" {
		q, args = q+" AND account_id = ?", append(args, accountID)
	}
	var r portRow
	if err := s.db.GetContext(ctx, &r, s.rebind(q), args...); err != nil {
		return Port{}, notFound(err, "port "+id)
	}
	ps, err := s.portsFromRows(ctx, []portRow{r})
	if err != nil {
		return Port{}, err
	}
	return ps[0], nil
}

// Ports lists an account's ports, newest first, at most limit.
func (s *Store) Ports(ctx context.Context, accountID string, limit int) ([]Port, error) {
	var rows []portRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+portColumns+" FROM sip_ports WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
		accountID, limit); err != nil {
		return nil, fmt.Errorf("list ports: %w", err)
	}
	return s.portsFromRows(ctx, rows)
}

// SetPortStatus moves port p (as read) to status, appending to its
// history. ErrPortStateChanged when the stored status is no longer
// p.Status. Entering a final state frees its numbers for other ports;
// completed also makes them the account's own and verified.
func (s *Store) SetPortStatus(ctx context.Context, p Port, status, reason string) (Port, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	hist, _ := json.Marshal(append(p.History, PortEvent{Status: status, Reason: reason, At: now}))
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind("UPDATE sip_ports SET status = ?, reason = ?, history = ?, updated_at = ? WHERE id = ? AND status = ?"),
		status, reason, string(hist), now, p.ID, p.Status)
	if err != nil {
		return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return Port{}, fmt.Errorf("port %s: %w", p.ID, errors.Join(err, ErrPortStateChanged))
	}
	if PortFinal(status) {
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE sip_port_numbers SET active = FALSE WHERE port_id = ?"), p.ID); err != nil {
			return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
		}
	}
	if status == PortCompleted {
		for _, n := range p.Numbers {
			// A number ported in again (after it was ported away) changes owner.
			if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sip_owned_numbers WHERE phone_number = ?"), n); err != nil {
				return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
			}
			if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO sip_owned_numbers (phone_number, account_id, port_id, created_at) VALUES (?, ?, ?, ?)"),
				n, p.AccountID, p.ID, now); err != nil {
				return Port{}, fmt.Errorf("port %s: own %s: %w", p.ID, n, err)
			}
			if err := markVerified(ctx, tx, s, p.AccountID, n, "port", now); err != nil {
				return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return Port{}, fmt.Errorf("port %s: %w", p.ID, err)
	}
	p.Status, p.Reason, p.UpdatedAt = status, reason, now
	p.History = append(p.History, PortEvent{Status: status, Reason: reason, At: now})
	return p, nil
}

// OwnedNumbers lists the numbers completed ports brought to an account.
func (s *Store) OwnedNumbers(ctx context.Context, accountID string) ([]string, error) {
	var ns []string
	if err := s.db.SelectContext(ctx, &ns, s.rebind("SELECT phone_number FROM sip_owned_numbers WHERE account_id = ? ORDER BY phone_number"), accountID); err != nil {
		return nil, fmt.Errorf("owned numbers: %w", err)
	}
	return ns, nil
}
