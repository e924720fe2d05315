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
}

const recordingColumns = `id, account_id, application_id, call_id, parent_call_id, direction, from_addr, to_addr,
	channels, file_format, status, file_path, size_bytes, duration_ms, start_time, end_time`

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
		:channels, :file_format, :status, :file_path, :size_bytes, :duration_ms, :start_time, :end_time)`, r); err != nil {
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
