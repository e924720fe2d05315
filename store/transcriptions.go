package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Transcription statuses, as the recording metadata shows them.
const (
	TranscriptionProcessing = "processing"
	TranscriptionAvailable  = "available"
	TranscriptionError      = "error"
)

// TranscriptionRecord is a recording's transcription.
type TranscriptionRecord struct {
	RecordingID   string       `db:"recording_id"`
	AccountID     string       `db:"account_id"`
	CallID        string       `db:"call_id"`
	ID            string       `db:"id"`
	Status        string       `db:"status"`
	Result        string       `db:"result"` // JSON, set when available
	ErrorMessage  string       `db:"error_message"`
	RequestedTime time.Time    `db:"requested_time"`
	CompletedTime sql.NullTime `db:"completed_time"`
}

// ErrTranscriptionBusy is returned by StartTranscription while the
// recording's previous transcription is still processing.
var ErrTranscriptionBusy = errors.New("a transcription of this recording is already processing")

const transcriptionColumns = `recording_id, account_id, call_id, id, status, result, error_message, requested_time, completed_time`

// StartTranscription records that t.RecordingID is being transcribed
// (status processing), replacing a finished transcription of it. It fails
// with ErrNotFound when the recording is not indexed, ErrTranscriptionBusy
// while another transcription of it runs.
func (s *Store) StartTranscription(ctx context.Context, t TranscriptionRecord) error {
	t.Status, t.Result, t.ErrorMessage, t.CompletedTime = TranscriptionProcessing, "", "", sql.NullTime{}
	t.RequestedTime = t.RequestedTime.UTC()
	res, err := s.db.NamedExecContext(ctx, `INSERT INTO recording_transcriptions (`+transcriptionColumns+`) VALUES (
		:recording_id, :account_id, :call_id, :id, :status, :result, :error_message, :requested_time, :completed_time)
		ON CONFLICT (recording_id) DO UPDATE SET id = excluded.id, status = excluded.status, result = excluded.result,
		error_message = excluded.error_message, requested_time = excluded.requested_time, completed_time = NULL
		WHERE recording_transcriptions.status <> 'processing'`, t)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("transcribe recording %s: %w", t.RecordingID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("transcribe recording %s: %w", t.RecordingID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("transcribe recording %s: %w", t.RecordingID, ErrTranscriptionBusy)
	}
	return nil
}

// FinishTranscription stores the outcome of transcription id (status
// available with result, or error with message). A transcription deleted or
// replaced meanwhile is left alone: it returns ErrNotFound.
func (s *Store) FinishTranscription(ctx context.Context, recordingID, id, status, result, message string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE recording_transcriptions SET status = ?, result = ?, error_message = ?,
		completed_time = ? WHERE recording_id = ? AND id = ?`), status, result, message, at.UTC(), recordingID, id)
	if err != nil {
		return fmt.Errorf("finish transcription %s: %w", id, err)
	}
	return mustAffect(res, "transcription "+id)
}

// Transcription returns the transcription of a recording of a call.
func (s *Store) Transcription(ctx context.Context, accountID, callID, recordingID string) (TranscriptionRecord, error) {
	var t TranscriptionRecord
	err := s.db.GetContext(ctx, &t, s.rebind("SELECT "+transcriptionColumns+
		" FROM recording_transcriptions WHERE recording_id = ? AND call_id = ? AND account_id = ?"), recordingID, callID, accountID)
	if err != nil {
		return TranscriptionRecord{}, notFound(err, "transcription of recording "+recordingID)
	}
	t.RequestedTime = t.RequestedTime.UTC()
	if t.CompletedTime.Valid {
		t.CompletedTime.Time = t.CompletedTime.Time.UTC()
	}
	return t, nil
}

// CallTranscriptions returns the transcriptions of a call's recordings by
// recording ID (for the recordings' metadata).
func (s *Store) CallTranscriptions(ctx context.Context, accountID, callID string) (map[string]TranscriptionRecord, error) {
	var ts []TranscriptionRecord
	if err := s.db.SelectContext(ctx, &ts, s.rebind("SELECT "+transcriptionColumns+
		" FROM recording_transcriptions WHERE account_id = ? AND call_id = ?"), accountID, callID); err != nil {
		return nil, fmt.Errorf("transcriptions of call %s: %w", callID, err)
	}
	out := make(map[string]TranscriptionRecord, len(ts))
	for _, t := range ts {
		if t.CompletedTime.Valid {
			t.CompletedTime.Time = t.CompletedTime.Time.UTC()
		}
		t.RequestedTime = t.RequestedTime.UTC()
		out[t.RecordingID] = t
	}
	return out, nil
}

// DeleteTranscription removes a recording's transcription; a job still
// running for it finds it gone and stores nothing.
func (s *Store) DeleteTranscription(ctx context.Context, accountID, callID, recordingID string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM recording_transcriptions WHERE recording_id = ? AND call_id = ? AND account_id = ?"),
		recordingID, callID, accountID)
	if err != nil {
		return fmt.Errorf("delete transcription of recording %s: %w", recordingID, err)
	}
	return mustAffect(res, "transcription of recording "+recordingID)
}

// FailInterruptedTranscriptions marks every transcription still processing
// as failed: at start, the jobs of a node that stopped are gone.
func (s *Store) FailInterruptedTranscriptions(ctx context.Context, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE recording_transcriptions SET status = ?, error_message = ?, completed_time = ?
		WHERE status = ?`), TranscriptionError, "the node stopped while the transcription ran", at.UTC(), TranscriptionProcessing)
	if err != nil {
		return 0, fmt.Errorf("fail interrupted transcriptions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
