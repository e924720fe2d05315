package store

import (
	"context"
	"fmt"
	"time"
)

// RecordingRecord indexes a recording file under the data directory.
type RecordingRecord struct {
	ID            string    `db:"id"`
	AccountID     string    `db:"account_id"`
	ApplicationID string    `db:"application_id"`
	CallID        string    `db:"call_id"`
	ParentCallID  string    `db:"parent_call_id"`
	Direction     string    `db:"direction"`
	From          string    `db:"from_addr"`
	To            string    `db:"to_addr"`
	Channels      int       `db:"channels"`
	FileFormat    string    `db:"file_format"`
	Status        string    `db:"status"`
	FilePath      string    `db:"file_path"`
	SizeBytes     int64     `db:"size_bytes"`
	DurationMS    int64     `db:"duration_ms"`
	StartTime     time.Time `db:"start_time"`
	EndTime       time.Time `db:"end_time"`
	// Name is the StartRecording recordingName ("" when none was given).
	Name string `db:"recording_name"`
	// TransferCallerID and TransferTo are set on a transfer leg's recording.
	TransferCallerID string `db:"transfer_caller_id"`
	TransferTo       string `db:"transfer_to"`
}

// Recording statuses, as the Voice API shows them.
const (
	RecordingPartial  = "partial"  // being written (the live journal)
	RecordingComplete = "complete" // indexed, media downloadable
	RecordingDeleted  = "deleted"  // media deleted, metadata kept
)

const recordingColumns = `id, account_id, application_id, call_id, parent_call_id, direction, from_addr, to_addr,
	channels, file_format, status, file_path, size_bytes, duration_ms, start_time, end_time,
	recording_name, transfer_caller_id, transfer_to`

// CreateRecording indexes a finished recording.
func (s *Store) CreateRecording(ctx context.Context, r RecordingRecord) error {
	r.StartTime, r.EndTime = r.StartTime.UTC(), r.EndTime.UTC()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create recording %s: %w", r.ID, err)
	}
	defer tx.Rollback()
	if _, err := tx.NamedExecContext(ctx, `INSERT INTO recordings (`+recordingColumns+`) VALUES (
		:id, :account_id, :application_id, :call_id, :parent_call_id, :direction, :from_addr, :to_addr,
		:channels, :file_format, :status, :file_path, :size_bytes, :duration_ms, :start_time, :end_time,
		:recording_name, :transfer_caller_id, :transfer_to)`, r); err != nil {
		return fmt.Errorf("create recording %s: %w", r.ID, err)
	}
	// Indexed: no longer in the journal of live recordings.
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM live_recordings WHERE recording_id = ?"), r.ID); err != nil {
		return fmt.Errorf("create recording %s: %w", r.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create recording %s: %w", r.ID, err)
	}
	return nil
}

// Recording returns one recording of a call.
func (s *Store) Recording(ctx context.Context, accountID, callID, id string) (RecordingRecord, error) {
	var r RecordingRecord
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+recordingColumns+" FROM recordings WHERE id = ? AND call_id = ? AND account_id = ?"), id, callID, accountID)
	if err != nil {
		return RecordingRecord{}, notFound(err, "recording "+id)
	}
	r.StartTime, r.EndTime = r.StartTime.UTC(), r.EndTime.UTC()
	return r, nil
}

// CallRecordings lists a call's recordings, oldest first.
func (s *Store) CallRecordings(ctx context.Context, accountID, callID string) ([]RecordingRecord, error) {
	var rs []RecordingRecord
	err := s.db.SelectContext(ctx, &rs, s.rebind("SELECT "+recordingColumns+" FROM recordings WHERE account_id = ? AND call_id = ? ORDER BY start_time, id"), accountID, callID)
	if err != nil {
		return nil, fmt.Errorf("list recordings of call %s: %w", callID, err)
	}
	for i := range rs {
		rs[i].StartTime, rs[i].EndTime = rs[i].StartTime.UTC(), rs[i].EndTime.UTC()
	}
	return rs, nil
}

// DeleteRecording removes a recording's index entry and returns it, so the
// caller can remove the file.
func (s *Store) DeleteRecording(ctx context.Context, accountID, callID, id string) (RecordingRecord, error) {
	r, err := s.Recording(ctx, accountID, callID, id)
	if err != nil {
		return RecordingRecord{}, err
	}
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM recordings WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return RecordingRecord{}, fmt.Errorf("delete recording %s: %w", id, err)
	}
	return r, mustAffect(res, "recording "+id)
}

// MaxAccountRecordings caps the account-wide list, as the Voice API does.
const MaxAccountRecordings = 1000

// RecordingFilter selects an account's recordings; empty fields match all.
type RecordingFilter struct {
	To, From                   string
	MinStartTime, MaxStartTime time.Time
}

// listFilter adds the filters the Voice API's lists share (to, from, start
// time; columns to_addr, from_addr, start_time) to a query whose one
// placeholder is the account.
func listFilter(q, accountID string, f RecordingFilter) (string, []any) {
	args := []any{accountID}
	add := func(cond string, v any) { q += " AND " + cond; args = append(args, v) }
	if f.To != "" {
		add("to_addr = ?", f.To)
	}
	if f.From != "" {
		add("from_addr = ?", f.From)
	}
	if !f.MinStartTime.IsZero() {
		add("start_time >= ?", f.MinStartTime.UTC())
	}
	if !f.MaxStartTime.IsZero() {
		add("start_time <= ?", f.MaxStartTime.UTC())
	}
	return q, args
}

// AccountRecordings lists the account's recordings that match f, newest
// first, at most MaxAccountRecordings of them: with a cap, the newest are
// the ones a caller is after, and minStartTime/maxStartTime reach the rest.
func (s *Store) AccountRecordings(ctx context.Context, accountID string, f RecordingFilter) ([]RecordingRecord, error) {
	q, args := listFilter("SELECT "+recordingColumns+" FROM recordings WHERE account_id = ?", accountID, f)
	q += " ORDER BY start_time DESC, id DESC LIMIT ?"
	args = append(args, MaxAccountRecordings)
	var rs []RecordingRecord
	if err := s.db.SelectContext(ctx, &rs, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list recordings of account %s: %w", accountID, err)
	}
	for i := range rs {
		rs[i].StartTime, rs[i].EndTime = rs[i].StartTime.UTC(), rs[i].EndTime.UTC()
	}
	return rs, nil
}

// DeleteRecordingMedia marks a recording's media deleted and returns the
// recording as it was, so the caller can remove the file; the metadata
// stays, with status deleted. A second call finds nothing to delete.
func (s *Store) DeleteRecordingMedia(ctx context.Context, accountID, callID, id string) (RecordingRecord, error) {
	r, err := s.Recording(ctx, accountID, callID, id)
	if err != nil {
		return RecordingRecord{}, err
	}
	res, err := s.db.ExecContext(ctx, s.rebind("UPDATE recordings SET status = ?, file_path = '', size_bytes = 0 WHERE id = ? AND account_id = ? AND file_path <> ''"),
		RecordingDeleted, id, accountID)
	if err != nil {
		return RecordingRecord{}, fmt.Errorf("delete media of recording %s: %w", id, err)
	}
	return r, mustAffect(res, "media of recording "+id)
}

// RecordingsBefore returns up to limit recordings (of every account) that
// started before t, oldest first: what a retention sweep removes next.
func (s *Store) RecordingsBefore(ctx context.Context, t time.Time, limit int) ([]RecordingRecord, error) {
	var rs []RecordingRecord
	err := s.db.SelectContext(ctx, &rs, s.rebind("SELECT "+recordingColumns+" FROM recordings WHERE start_time < ? ORDER BY start_time, id LIMIT ?"), t.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list recordings before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return rs, nil
}
