package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Real-time transcription statuses.
const (
	RealtimeActive    = "active"
	RealtimeAvailable = "available"
	RealtimeFailed    = "failed"
)

// RealtimeTranscription is a <StartTranscription> of a call.
type RealtimeTranscription struct {
	ID            string       `db:"id"`
	AccountID     string       `db:"account_id"`
	CallID        string       `db:"call_id"`
	Name          string       `db:"name"`
	Tracks        string       `db:"tracks"` // comma-separated
	Status        string       `db:"status"`
	StartTime     time.Time    `db:"start_time"`
	CompletedTime sql.NullTime `db:"completed_time"`
}

// RealtimeSegment is one utterance of one track, as the recogniser heard it.
type RealtimeSegment struct {
	TranscriptionID string  `db:"transcription_id"`
	Seq             int     `db:"seq"`
	Track           string  `db:"track"`
	Transcript      string  `db:"transcript"`
	Confidence      float64 `db:"confidence"`
	StartMS         int64   `db:"start_ms"`
	EndMS           int64   `db:"end_ms"`
}

const realtimeColumns = `id, account_id, call_id, name, tracks, status, start_time, completed_time`

// CreateRealtimeTranscription stores a transcription that starts (status
// active).
func (s *Store) CreateRealtimeTranscription(ctx context.Context, t RealtimeTranscription) error {
	t.Status, t.StartTime = RealtimeActive, t.StartTime.UTC()
	if _, err := s.db.NamedExecContext(ctx, `INSERT INTO realtime_transcriptions (`+realtimeColumns+`) VALUES (
		:id, :account_id, :call_id, :name, :tracks, :status, :start_time, :completed_time)`, t); err != nil {
		return fmt.Errorf("create real-time transcription %s: %w", t.ID, err)
	}
	return nil
}

// AddRealtimeSegment stores a finished segment; ErrNotFound when the
// transcription was deleted meanwhile.
func (s *Store) AddRealtimeSegment(ctx context.Context, seg RealtimeSegment) error {
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO realtime_transcription_segments
		(transcription_id, seq, track, transcript, confidence, start_ms, end_ms)
		VALUES (:transcription_id, :seq, :track, :transcript, :confidence, :start_ms, :end_ms)`, seg)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("real-time transcription %s: %w", seg.TranscriptionID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("real-time transcription %s segment %d: %w", seg.TranscriptionID, seg.Seq, err)
	}
	return nil
}

// FinishRealtimeTranscription sets the final status (available or failed).
func (s *Store) FinishRealtimeTranscription(ctx context.Context, id, status string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE realtime_transcriptions SET status = ?, completed_time = ? WHERE id = ?`),
		status, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("finish real-time transcription %s: %w", id, err)
	}
	return mustAffect(res, "real-time transcription "+id)
}

// RealtimeTranscriptions lists a call's real-time transcriptions, oldest
// first.
func (s *Store) RealtimeTranscriptions(ctx context.Context, accountID, callID string) ([]RealtimeTranscription, error) {
	var ts []RealtimeTranscription
	if err := s.db.SelectContext(ctx, &ts, s.rebind("SELECT "+realtimeColumns+
		" FROM realtime_transcriptions WHERE account_id = ? AND call_id = ? ORDER BY start_time, id"), accountID, callID); err != nil {
		return nil, fmt.Errorf("real-time transcriptions of call %s: %w", callID, err)
	}
	for i := range ts {
		ts[i].utc()
	}
	return ts, nil
}

// RealtimeTranscription returns one transcription of a call and its
// segments in order.
func (s *Store) RealtimeTranscription(ctx context.Context, accountID, callID, id string) (RealtimeTranscription, []RealtimeSegment, error) {
	var t RealtimeTranscription
	if err := s.db.GetContext(ctx, &t, s.rebind("SELECT "+realtimeColumns+
		" FROM realtime_transcriptions WHERE id = ? AND call_id = ? AND account_id = ?"), id, callID, accountID); err != nil {
		return t, nil, notFound(err, "real-time transcription "+id)
	}
	t.utc()
	var segs []RealtimeSegment
	if err := s.db.SelectContext(ctx, &segs, s.rebind(`SELECT transcription_id, seq, track, transcript, confidence, start_ms, end_ms
		FROM realtime_transcription_segments WHERE transcription_id = ? ORDER BY seq`), id); err != nil {
		return t, nil, fmt.Errorf("real-time transcription %s segments: %w", id, err)
	}
	return t, segs, nil
}

// DeleteRealtimeTranscription removes a transcription and its segments; a
// transcription still running stores nothing more.
func (s *Store) DeleteRealtimeTranscription(ctx context.Context, accountID, callID, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM realtime_transcriptions WHERE id = ? AND call_id = ? AND account_id = ?"),
		id, callID, accountID)
	if err != nil {
		return fmt.Errorf("delete real-time transcription %s: %w", id, err)
	}
	return mustAffect(res, "real-time transcription "+id)
}

// FailInterruptedRealtimeTranscriptions marks every transcription still
// active as failed: at start, the calls of a node that stopped are gone.
// What their segments say is kept.
func (s *Store) FailInterruptedRealtimeTranscriptions(ctx context.Context, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE realtime_transcriptions SET status = ?, completed_time = ? WHERE status = ?`),
		RealtimeFailed, at.UTC(), RealtimeActive)
	if err != nil {
		return 0, fmt.Errorf("fail interrupted real-time transcriptions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (t *RealtimeTranscription) utc() {
	t.StartTime = t.StartTime.UTC()
	if t.CompletedTime.Valid {
		t.CompletedTime.Time = t.CompletedTime.Time.UTC()
	}
}
