package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CallRecord is a call as it is kept once it ended (and as the engine
// reports it while it is up). Times are UTC; zero means "not yet".
type CallRecord struct {
	ID              string
	AccountID       string
	ApplicationID   string
	ParentCallID    string
	Direction       string // inbound or outbound
	From, To        string
	State           string // initiated, answered, disconnected
	SIPCallID       string
	Tag             string
	Variables       map[string]string
	EnqueuedTime    time.Time
	StartTime       time.Time
	AnswerTime      time.Time
	EndTime         time.Time
	DisconnectCause string
	ErrorMessage    string
	ErrorID         string
	LastUpdate      time.Time
	SIPRoute        CallSIPRoute
}

// CallSIPRoute is what a call's SIP side went through: the phone number
// whose SIP configuration (and trunk) routed it, and the final response of
// its INVITE (for an inbound call, what the server answered). Empty for a
// call that used no phone number's configuration; Status 0 when no final
// response was sent or received.
type CallSIPRoute struct {
	PhoneNumber     string
	ConfigurationID string
	TrunkID         string
	Status          int
	Reason          string
}

// SIPMessage is one SIP message of a call's trace.
type SIPMessage struct {
	At         time.Time `db:"at" json:"time"`
	Direction  string    `db:"direction" json:"direction"` // in or out
	Transport  string    `db:"transport" json:"transport"`
	LocalAddr  string    `db:"local_addr" json:"localAddress"`
	RemoteAddr string    `db:"remote_addr" json:"remoteAddress"`
	Message    string    `db:"message" json:"message"`
}

// LogEntry is one line of a call's log (engine, webhook, Wasm module).
type LogEntry struct {
	At      time.Time `db:"at" json:"time"`
	Level   string    `db:"level" json:"level"`
	Source  string    `db:"source" json:"source"`
	Message string    `db:"message" json:"message"`
}

type callRow struct {
	ID              string     `db:"id"`
	AccountID       string     `db:"account_id"`
	ApplicationID   string     `db:"application_id"`
	ParentCallID    string     `db:"parent_call_id"`
	Direction       string     `db:"direction"`
	From            string     `db:"from_addr"`
	To              string     `db:"to_addr"`
	State           string     `db:"state"`
	SIPCallID       string     `db:"sip_call_id"`
	Tag             string     `db:"tag"`
	Variables       string     `db:"variables"`
	EnqueuedTime    *time.Time `db:"enqueued_time"`
	StartTime       time.Time  `db:"start_time"`
	AnswerTime      *time.Time `db:"answer_time"`
	EndTime         *time.Time `db:"end_time"`
	DisconnectCause string     `db:"disconnect_cause"`
	ErrorMessage    string     `db:"error_message"`
	ErrorID         string     `db:"error_id"`
	LastUpdate      time.Time  `db:"last_update"`
	PhoneNumber     string     `db:"phone_number"`
	ConfigurationID string     `db:"sip_configuration_id"`
	TrunkID         string     `db:"trunk_id"`
	SIPStatus       int        `db:"sip_status"`
	SIPReason       string     `db:"sip_reason"`
}

const callColumns = `id, account_id, application_id, parent_call_id, direction, from_addr, to_addr, state,
	sip_call_id, tag, variables, enqueued_time, start_time, answer_time, end_time, disconnect_cause,
	error_message, error_id, last_update, phone_number, sip_configuration_id, trunk_id, sip_status, sip_reason`

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromOpt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// SaveCall writes a call's record with its SIP trace and log, replacing any
// earlier save of the same call. It returns once the record is committed
// (or failed); records saved at the same moment by other callers share the
// transaction (see callWriter), and each caller gets its own record's
// error. When ctx ends first SaveCall returns ctx.Err(), and the record may
// still be written: it is skipped only if its group had not started yet.
// After Close it returns ErrClosed.
func (s *Store) SaveCall(ctx context.Context, c CallRecord, trace []SIPMessage, log []LogEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stmts, err := s.saveCallStmts(c, trace, log)
	if err != nil {
		return err
	}
	p := &pendingCall{ctx: ctx, id: c.ID, stmts: stmts, done: make(chan error, 1)}
	if err := s.calls.enqueue(ctx, p); err != nil {
		return fmt.Errorf("save call %s: %w", c.ID, err)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callStmt is one statement of a call's save.
type callStmt struct {
	what  string // appended to the call in errors: "", " trace", " log"
	query string
	args  []any
}

var (
	upsertCallQuery = `INSERT INTO calls (` + callColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, tag = excluded.tag, variables = excluded.variables,
		answer_time = excluded.answer_time, end_time = excluded.end_time, disconnect_cause = excluded.disconnect_cause,
		error_message = excluded.error_message, error_id = excluded.error_id, last_update = excluded.last_update,
		phone_number = excluded.phone_number, sip_configuration_id = excluded.sip_configuration_id, trunk_id = excluded.trunk_id,
		sip_status = excluded.sip_status, sip_reason = excluded.sip_reason`
	upsertTraceQuery = `INSERT INTO call_traces (call_id, messages, trace) VALUES (?, ?, ?)
		ON CONFLICT (call_id) DO UPDATE SET messages = excluded.messages, trace = excluded.trace`
	logInsertPrefix = "INSERT INTO call_log (call_id, seq, at, level, source, message) VALUES "
)

// saveCallStmts builds the statements that save one call, in the caller's
// goroutine: the writer that runs them is one goroutine for every call.
func (s *Store) saveCallStmts(c CallRecord, trace []SIPMessage, log []LogEntry) ([]callStmt, error) {
	vars, err := json.Marshal(c.Variables)
	if err != nil {
		return nil, fmt.Errorf("encode call variables: %w", err)
	}
	if c.Variables == nil {
		vars = []byte("{}")
	}
	if c.LastUpdate.IsZero() {
		c.LastUpdate = time.Now()
	}
	stmts := make([]callStmt, 0, 4+(len(log)+rowsPerInsert-1)/rowsPerInsert)
	stmts = append(stmts, callStmt{query: s.rebind(upsertCallQuery), args: []any{
		c.ID, c.AccountID, c.ApplicationID, c.ParentCallID, c.Direction, c.From, c.To, c.State,
		c.SIPCallID, c.Tag, string(vars), optTime(c.EnqueuedTime), c.StartTime.UTC(), optTime(c.AnswerTime),
		optTime(c.EndTime), c.DisconnectCause, c.ErrorMessage, c.ErrorID, c.LastUpdate.UTC(),
		c.SIPRoute.PhoneNumber, c.SIPRoute.ConfigurationID, c.SIPRoute.TrunkID, c.SIPRoute.Status, c.SIPRoute.Reason,
	}})
	blob, err := encodeTrace(trace)
	if err != nil {
		return nil, fmt.Errorf("save call %s: %w", c.ID, err)
	}
	stmts = append(stmts, callStmt{what: " trace", query: s.rebind(upsertTraceQuery), args: []any{c.ID, len(trace), blob}})
	stmts = append(stmts, callStmt{what: " journal", query: s.rebind("DELETE FROM live_calls WHERE call_id = ?"), args: []any{c.ID}})
	stmts = append(stmts, callStmt{what: " log", query: s.rebind("DELETE FROM call_log WHERE call_id = ?"), args: []any{c.ID}})
	stmts = insertRows(stmts, " log", s.rebind, logInsertPrefix, len(log), 6, func(i int, args []any) []any {
		l := log[i]
		return append(args, c.ID, i, l.At.UTC(), l.Level, l.Source, l.Message)
	})
	return stmts, nil
}

// rowsPerInsert bounds one multi-row INSERT: 100 rows of 8 columns stay
// far below SQLite's limit of bound parameters (32766).
const rowsPerInsert = 100

// insertRows appends the statements that insert n rows of cols columns,
// with as few statements as rows allow: one statement (one round trip into
// SQLite) per rowsPerInsert rows instead of one per row, which was most of
// a short call's save. prefix is "INSERT INTO t (...) VALUES "; row appends
// row i's values.
func insertRows(stmts []callStmt, what string, rebind func(string) string, prefix string, n, cols int,
	row func(i int, args []any) []any) []callStmt {
	tuple := "(?" + strings.Repeat(", ?", cols-1) + ")"
	for start := 0; start < n; start += rowsPerInsert {
		end := min(start+rowsPerInsert, n)
		var q strings.Builder
		q.WriteString(prefix)
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString(tuple)
			args = row(i, args)
		}
		stmts = append(stmts, callStmt{what: what, query: rebind(q.String()), args: args})
	}
	return stmts
}

func (r callRow) record() (CallRecord, error) {
	c := CallRecord{
		ID: r.ID, AccountID: r.AccountID, ApplicationID: r.ApplicationID, ParentCallID: r.ParentCallID,
		Direction: r.Direction, From: r.From, To: r.To, State: r.State, SIPCallID: r.SIPCallID, Tag: r.Tag,
		EnqueuedTime: fromOpt(r.EnqueuedTime), StartTime: r.StartTime.UTC(), AnswerTime: fromOpt(r.AnswerTime),
		EndTime: fromOpt(r.EndTime), DisconnectCause: r.DisconnectCause, ErrorMessage: r.ErrorMessage,
		ErrorID: r.ErrorID, LastUpdate: r.LastUpdate.UTC(),
		SIPRoute: CallSIPRoute{PhoneNumber: r.PhoneNumber, ConfigurationID: r.ConfigurationID, TrunkID: r.TrunkID,
			Status: r.SIPStatus, Reason: r.SIPReason},
	}
	if err := json.Unmarshal([]byte(r.Variables), &c.Variables); err != nil {
		return CallRecord{}, fmt.Errorf("call %s variables: %w", r.ID, err)
	}
	return c, nil
}

// Call returns an ended call of an account.
func (s *Store) Call(ctx context.Context, accountID, id string) (CallRecord, error) {
	var r callRow
	if err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+callColumns+" FROM calls WHERE id = ? AND account_id = ?"), id, accountID); err != nil {
		return CallRecord{}, notFound(err, "call "+id)
	}
	return r.record()
}

// CallFilter selects calls as the Voice API's listCalls does.
type CallFilter struct {
	To, From        string
	MinStartTime    time.Time
	MaxStartTime    time.Time
	DisconnectCause string
	PageSize        int    // 1..10000, default 1000
	PageToken       string // from the previous page's NextPageToken
}

// CallPage is one page of calls, oldest first.
type CallPage struct {
	Calls         []CallRecord
	NextPageToken string // empty on the last page
}

// Calls lists an account's ended calls.
func (s *Store) Calls(ctx context.Context, accountID string, f CallFilter) (CallPage, error) {
	if f.PageSize <= 0 {
		f.PageSize = 1000
	}
	q, args := listFilter("SELECT "+callColumns+" FROM calls WHERE account_id = ?", accountID,
		RecordingFilter{To: f.To, From: f.From, MinStartTime: f.MinStartTime, MaxStartTime: f.MaxStartTime})
	if f.DisconnectCause != "" {
		q += " AND disconnect_cause = ?"
		args = append(args, f.DisconnectCause)
	}
	if f.PageToken != "" {
		t, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return CallPage{}, err
		}
		q += " AND (start_time > ? OR (start_time = ? AND id > ?))"
		args = append(args, t, t, id)
	}
	q += " ORDER BY start_time, id LIMIT ?"
	args = append(args, f.PageSize+1)
	var rows []callRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return CallPage{}, fmt.Errorf("list calls: %w", err)
	}
	calls, next, err := callPage(rows, f.PageSize)
	if err != nil {
		return CallPage{}, err
	}
	return CallPage{Calls: calls, NextPageToken: next}, nil
}

// callPage turns up to limit+1 rows into a page of at most limit records
// and the token of the next page ("" when the rows were the last).
func callPage(rows []callRow, limit int) ([]CallRecord, string, error) {
	var next string
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = encodePageToken(last.StartTime, last.ID)
	}
	calls := make([]CallRecord, 0, len(rows))
	for _, r := range rows {
		c, err := r.record()
		if err != nil {
			return nil, "", err
		}
		calls = append(calls, c)
	}
	return calls, next, nil
}

// ErrBadPageToken is returned for a page token this server did not make.
var ErrBadPageToken = fmt.Errorf("invalid pageToken")

func encodePageToken(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodePageToken(tok string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", ErrBadPageToken
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		return time.Time{}, "", ErrBadPageToken
	}
	return t, id, nil
}

// CallTrace returns the SIP messages of an ended call, in order.
func (s *Store) CallTrace(ctx context.Context, callID string) ([]SIPMessage, error) {
	var blob []byte
	err := s.db.GetContext(ctx, &blob, s.rebind(`SELECT trace FROM call_traces WHERE call_id = ?`), callID)
	switch {
	case err == nil:
		out, err := decodeTrace(blob)
		if err != nil {
			return nil, fmt.Errorf("call %s trace: %w", callID, err)
		}
		return out, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("call %s trace: %w", callID, err)
	}
	// Saved before migration 0021, or never traced.
	var out []SIPMessage
	err = s.db.SelectContext(ctx, &out, s.rebind(`SELECT at, direction, transport, local_addr, remote_addr, message
		FROM call_sip_messages WHERE call_id = ? ORDER BY seq`), callID)
	if err != nil {
		return nil, fmt.Errorf("call %s trace: %w", callID, err)
	}
	return out, nil
}

// CallLog returns the log of an ended call, in order.
func (s *Store) CallLog(ctx context.Context, callID string) ([]LogEntry, error) {
	var out []LogEntry
	err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT at, level, source, message FROM call_log WHERE call_id = ? ORDER BY seq`), callID)
	if err != nil {
		return nil, fmt.Errorf("call %s log: %w", callID, err)
	}
	return out, nil
}

// SIPCallFilter selects an account's calls that went through its phone
// numbers' SIP configurations (GET /v1/sip/calls).
type SIPCallFilter struct {
	PhoneNumber string // "" for any
	TrunkID     string // "" for any
	Direction   string // inbound, outbound or "" for both
	Limit       int    // 1..1000, default 100
	Cursor      string // NextCursor of the previous page
}

// SIPCallPage is one page of SIP calls, newest first.
type SIPCallPage struct {
	Calls      []CallRecord
	NextCursor string // empty on the last page
}

// SIPCallCursor is the cursor of the page that follows call c: Bland's
// before=<call_id>.
func SIPCallCursor(c CallRecord) string { return encodePageToken(c.StartTime, c.ID) }

// SIPCalls lists an account's ended calls that used a phone number's SIP
// configuration, newest first.
func (s *Store) SIPCalls(ctx context.Context, accountID string, f SIPCallFilter) (SIPCallPage, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := "SELECT " + callColumns + " FROM calls WHERE account_id = ? AND sip_configuration_id <> ''"
	args := []any{accountID}
	if f.PhoneNumber != "" {
		q += " AND phone_number = ?"
		args = append(args, f.PhoneNumber)
	}
	if f.TrunkID != "" {
		q += " AND trunk_id = ?"
		args = append(args, f.TrunkID)
	}
	if f.Direction != "" {
		q += " AND direction = ?"
		args = append(args, f.Direction)
	}
	if f.Cursor != "" {
		t, id, err := decodePageToken(f.Cursor)
		if err != nil {
			return SIPCallPage{}, err
		}
		q += " AND (start_time < ? OR (start_time = ? AND id < ?))"
		args = append(args, t, t, id)
	}
	q += " ORDER BY start_time DESC, id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	var rows []callRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return SIPCallPage{}, fmt.Errorf("list sip calls: %w", err)
	}
	calls, next, err := callPage(rows, f.Limit)
	if err != nil {
		return SIPCallPage{}, err
	}
	return SIPCallPage{Calls: calls, NextCursor: next}, nil
}
