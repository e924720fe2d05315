package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The journal of live calls and recordings (migration 0008): a row when a
// call or recording begins, removed in the transaction that saves its end.
// Rows left at start are what a crash interrupted (see ReconcileLive in the
// call engine). Journal writes go through the call writer without waiting:
// they share the commits of ended calls, and a call's end (queued after its
// beginning) always removes its row.

// DisconnectTarget is where a call's own disconnect callback goes (a
// createCall's disconnectUrl), when not to its application's.
type DisconnectTarget struct {
	URL      string `json:"url"`
	Method   string `json:"method"`
	Username string `json:"username,omitempty"`
	Password string `json:"-"` // sealed in PasswordSealed
	Sealed   string `json:"passwordSealed,omitempty"`
}

// LiveCall is a journaled call: the record as it began and its own
// disconnect target (nil: the application's).
type LiveCall struct {
	Record     CallRecord
	Disconnect *DisconnectTarget
}

type liveCallRow struct {
	CallID     string    `db:"call_id"`
	AccountID  string    `db:"account_id"`
	Record     string    `db:"record"`
	Disconnect string    `db:"disconnect"`
	StartedAt  time.Time `db:"started_at"`
}

// JournalCall records that a call began. It returns at once; the row is
// written with the next group of the call writer.
func (s *Store) JournalCall(c LiveCall) error {
	rec, err := json.Marshal(c.Record)
	if err != nil {
		return fmt.Errorf("journal call %s: %w", c.Record.ID, err)
	}
	disc := ""
	if d := c.Disconnect; d != nil {
		cp := *d
		if cp.Sealed, err = s.sealer.seal(d.Password); err != nil {
			return fmt.Errorf("journal call %s: %w", c.Record.ID, err)
		}
		b, err := json.Marshal(cp)
		if err != nil {
			return fmt.Errorf("journal call %s: %w", c.Record.ID, err)
		}
		disc = string(b)
	}
	return s.calls.enqueueNoWait(&pendingCall{ctx: context.Background(), id: c.Record.ID, done: make(chan error, 1), stmts: []callStmt{{
		what:  " journal",
		query: s.rebind("INSERT INTO live_calls (call_id, account_id, record, disconnect, started_at, node_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING"),
		args:  []any{c.Record.ID, c.Record.AccountID, string(rec), disc, c.Record.StartTime.UTC(), s.nodeID},
	}}})
}

// LiveCalls returns this node's journaled calls that have not ended (after
// a crash: the calls it interrupted), oldest first. Rows journaled before
// nodes had names are this node's too.
func (s *Store) LiveCalls(ctx context.Context) ([]LiveCall, error) {
	return s.liveCalls(ctx, "node_id IN (?, '')", s.nodeID)
}

// NodeLiveCalls returns the journaled calls of node id (a dead node's, to
// reconcile), oldest first.
func (s *Store) NodeLiveCalls(ctx context.Context, id string) ([]LiveCall, error) {
	return s.liveCalls(ctx, "node_id = ?", id)
}

func (s *Store) liveCalls(ctx context.Context, where string, args ...any) ([]LiveCall, error) {
	var rows []liveCallRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT call_id, account_id, record, disconnect, started_at FROM live_calls WHERE "+where+" ORDER BY started_at, call_id"), args...); err != nil {
		return nil, fmt.Errorf("live calls: %w", err)
	}
	out := make([]LiveCall, 0, len(rows))
	for _, r := range rows {
		var lc LiveCall
		if err := json.Unmarshal([]byte(r.Record), &lc.Record); err != nil {
			return nil, fmt.Errorf("live call %s: %w", r.CallID, err)
		}
		if r.Disconnect != "" {
			var d DisconnectTarget
			if err := json.Unmarshal([]byte(r.Disconnect), &d); err != nil {
				return nil, fmt.Errorf("live call %s disconnect: %w", r.CallID, err)
			}
			pw, err := s.sealer.open(d.Sealed)
			if err != nil {
				return nil, fmt.Errorf("live call %s disconnect: %w", r.CallID, err)
			}
			d.Password, d.Sealed = pw, ""
			lc.Disconnect = &d
		}
		out = append(out, lc)
	}
	return out, nil
}

// JournalRecording records that a recording began (its file is being
// written at r.FilePath). Unlike JournalCall it waits for the commit:
// CreateRecording removes the row outside the call writer, so the row must
// be there first.
func (s *Store) JournalRecording(ctx context.Context, r RecordingRecord) error {
	rec, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal recording %s: %w", r.ID, err)
	}
	_, err = s.db.ExecContext(ctx, s.rebind("INSERT INTO live_recordings (recording_id, call_id, record, started_at, node_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (recording_id) DO NOTHING"),
		r.ID, r.CallID, string(rec), r.StartTime.UTC(), s.nodeID)
	if err != nil {
		return fmt.Errorf("journal recording %s: %w", r.ID, err)
	}
	return nil
}

// ForgetLiveRecording removes a recording from the journal without
// indexing it (its file is gone).
func (s *Store) ForgetLiveRecording(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM live_recordings WHERE recording_id = ?"), id); err != nil {
		return fmt.Errorf("forget live recording %s: %w", id, err)
	}
	return nil
}

// LiveRecordings returns this node's journaled recordings that were never
// indexed (their files are on this node's disk).
func (s *Store) LiveRecordings(ctx context.Context) ([]RecordingRecord, error) {
	var recs []string
	if err := s.db.SelectContext(ctx, &recs, s.rebind("SELECT record FROM live_recordings WHERE node_id IN (?, '') ORDER BY started_at, recording_id"), s.nodeID); err != nil {
		return nil, fmt.Errorf("live recordings: %w", err)
	}
	out := make([]RecordingRecord, 0, len(recs))
	for _, b := range recs {
		var r RecordingRecord
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			return nil, fmt.Errorf("live recording: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// The heartbeat: the last moment the node was known to run, written every
// AliveEvery; after a crash it is when the interrupted calls ended at the
// latest.
const (
	settingAlive = "node_alive_at"
	AliveEvery   = 10 * time.Second
)

// SetAlive records that the node runs at now.
func (s *Store) SetAlive(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
		settingAlive, now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// LastAlive is the last heartbeat of this node: its row's when it is
// registered (nodes sharing a database), else the single node's setting
// (zero when none was written).
func (s *Store) LastAlive(ctx context.Context) (time.Time, error) {
	if n, err := s.Node(ctx, s.nodeID); err == nil {
		return n.HeartbeatAt, nil
	} else if !isNotFound(err) {
		return time.Time{}, err
	}
	var v string
	err := s.db.GetContext(ctx, &v, s.rebind("SELECT value FROM settings WHERE name = ?"), settingAlive)
	if err != nil {
		if err := notFound(err, "heartbeat"); isNotFound(err) {
			return time.Time{}, nil
		}
		return time.Time{}, fmt.Errorf("heartbeat: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("heartbeat %q: %w", v, err)
	}
	return t, nil
}
