package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// ConferenceRecord is a conference as the Voice API shows it.
type ConferenceRecord struct {
	ID                    string       `db:"id"`
	AccountID             string       `db:"account_id"`
	Name                  string       `db:"name"`
	ConferenceEventURL    string       `db:"conference_event_url"`
	ConferenceEventMethod string       `db:"conference_event_method"`
	Tag                   string       `db:"tag"`
	CreatedTime           time.Time    `db:"created_time"`
	CompletedTime         sql.NullTime `db:"completed_time"`
	// ActiveMembers are the members in it now (Conference fills them).
	ActiveMembers []ConferenceMemberRecord `db:"-"`
}

// ConferenceMemberRecord is one call's membership of a conference.
type ConferenceMemberRecord struct {
	ConferenceID string `db:"conference_id"`
	CallID       string `db:"call_id"`
	Mute         bool   `db:"mute"`
	Hold         bool   `db:"hold"`
	// CallIDsToCoach is nil when the member coaches nobody.
	CallIDsToCoach []string       `db:"-"`
	CoachJSON      sql.NullString `db:"call_ids_to_coach"`
	JoinTime       time.Time      `db:"join_time"`
	ExitTime       sql.NullTime   `db:"exit_time"`
}

func (m *ConferenceMemberRecord) encode() error {
	m.CoachJSON = sql.NullString{}
	if m.CallIDsToCoach != nil {
		b, err := json.Marshal(m.CallIDsToCoach)
		if err != nil {
			return err
		}
		m.CoachJSON = sql.NullString{String: string(b), Valid: true}
	}
	return nil
}

func (m *ConferenceMemberRecord) decode() error {
	m.CallIDsToCoach = nil
	m.JoinTime = m.JoinTime.UTC()
	if m.CoachJSON.Valid {
		m.CallIDsToCoach = []string{}
		return json.Unmarshal([]byte(m.CoachJSON.String), &m.CallIDsToCoach)
	}
	return nil
}

const conferenceColumns = `id, account_id, name, conference_event_url, conference_event_method, tag, created_time, completed_time`

const memberColumns = `conference_id, call_id, mute, hold, call_ids_to_coach, join_time, exit_time`

// CreateConference records a conference its first member created.
func (s *Store) CreateConference(ctx context.Context, c ConferenceRecord) error {
	c.CreatedTime = c.CreatedTime.UTC()
	if _, err := s.db.NamedExecContext(ctx, `INSERT INTO conferences (`+conferenceColumns+`, node_id) VALUES (
		:id, :account_id, :name, :conference_event_url, :conference_event_method, :tag, :created_time, :completed_time, :node_id)`, struct {
		ConferenceRecord
		NodeID string `db:"node_id"`
	}{c, s.nodeID}); err != nil {
		return fmt.Errorf("create conference %s: %w", c.ID, err)
	}
	return nil
}

// CompleteConference records that the conference ended at t.
func (s *Store) CompleteConference(ctx context.Context, id string, t time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind("UPDATE conferences SET completed_time = ? WHERE id = ? AND completed_time IS NULL"), t.UTC(), id)
	if err != nil {
		return fmt.Errorf("complete conference %s: %w", id, err)
	}
	return mustAffect(res, "conference "+id)
}

// CompleteOpenConferences completes every conference of this node (and
// those from before nodes were recorded) still open, and the membership of
// every member still in one, at t: at start, before the engine takes calls,
// these are what a crash left (no conference outlives its node's process).
// It reports how many conferences it completed.
func (s *Store) CompleteOpenConferences(ctx context.Context, t time.Time) (int, error) {
	return s.completeConferences(ctx, "node_id IN (?, '')", s.nodeID, t)
}

// CompleteNodeConferences completes the open conferences of node, another
// node that was lost (its caller claimed it), and their memberships, at t.
func (s *Store) CompleteNodeConferences(ctx context.Context, node string, t time.Time) (int, error) {
	return s.completeConferences(ctx, "node_id = ?", node, t)
}

func (s *Store) completeConferences(ctx context.Context, nodeCond, node string, t time.Time) (int, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("complete open conferences: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE conference_members SET exit_time = ? WHERE exit_time IS NULL
		AND conference_id IN (SELECT id FROM conferences WHERE completed_time IS NULL AND `+nodeCond+`)`), t.UTC(), node); err != nil {
		return 0, fmt.Errorf("complete open conferences: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE conferences SET completed_time = CASE WHEN created_time > ? THEN created_time ELSE ? END
		WHERE completed_time IS NULL AND `+nodeCond), t.UTC(), t.UTC(), node)
	if err != nil {
		return 0, fmt.Errorf("complete open conferences: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("complete open conferences: %w", err)
	}
	return int(n), nil
}

// SaveConferenceMember records a member that joined (again: a call may
// leave and join the same conference more than once).
func (s *Store) SaveConferenceMember(ctx context.Context, m ConferenceMemberRecord) error {
	m.JoinTime = m.JoinTime.UTC()
	if err := m.encode(); err != nil {
		return fmt.Errorf("save conference member %s: %w", m.CallID, err)
	}
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO conference_members (`+memberColumns+`) VALUES (
		:conference_id, :call_id, :mute, :hold, :call_ids_to_coach, :join_time, :exit_time)
		ON CONFLICT (conference_id, call_id) DO UPDATE SET mute = excluded.mute, hold = excluded.hold,
		call_ids_to_coach = excluded.call_ids_to_coach, join_time = excluded.join_time, exit_time = excluded.exit_time`, m)
	if err != nil {
		return fmt.Errorf("save conference member %s: %w", m.CallID, err)
	}
	return nil
}

// UpdateConferenceMember records a member's new mute, hold and coaching
// while it is in the conference (one that left keeps what it had).
func (s *Store) UpdateConferenceMember(ctx context.Context, m ConferenceMemberRecord) error {
	if err := m.encode(); err != nil {
		return fmt.Errorf("update conference member %s: %w", m.CallID, err)
	}
	_, err := s.db.NamedExecContext(ctx, `UPDATE conference_members SET mute = :mute, hold = :hold, call_ids_to_coach = :call_ids_to_coach
		WHERE conference_id = :conference_id AND call_id = :call_id AND exit_time IS NULL`, m)
	if err != nil {
		return fmt.Errorf("update conference member %s: %w", m.CallID, err)
	}
	return nil
}

// ExitConferenceMember records that the call left the conference at t.
func (s *Store) ExitConferenceMember(ctx context.Context, conferenceID, callID string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind("UPDATE conference_members SET exit_time = ? WHERE conference_id = ? AND call_id = ? AND exit_time IS NULL"),
		t.UTC(), conferenceID, callID)
	if err != nil {
		return fmt.Errorf("conference member %s exit: %w", callID, err)
	}
	return nil
}

// Conference returns one conference of the account with its active members.
func (s *Store) Conference(ctx context.Context, accountID, id string) (ConferenceRecord, error) {
	var c ConferenceRecord
	err := s.db.GetContext(ctx, &c, s.rebind("SELECT "+conferenceColumns+" FROM conferences WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return ConferenceRecord{}, notFound(err, "conference "+id)
	}
	c.CreatedTime = c.CreatedTime.UTC()
	var ms []ConferenceMemberRecord
	err = s.db.SelectContext(ctx, &ms, s.rebind("SELECT "+memberColumns+" FROM conference_members WHERE conference_id = ? AND exit_time IS NULL ORDER BY join_time, call_id"), id)
	if err != nil {
		return ConferenceRecord{}, fmt.Errorf("members of conference %s: %w", id, err)
	}
	for i := range ms {
		if err := ms[i].decode(); err != nil {
			return ConferenceRecord{}, fmt.Errorf("member %s: %w", ms[i].CallID, err)
		}
	}
	c.ActiveMembers = ms
	return c, nil
}

// ConferenceMember returns a member (in the conference or gone) of one of
// the account's conferences.
func (s *Store) ConferenceMember(ctx context.Context, accountID, conferenceID, callID string) (ConferenceMemberRecord, error) {
	var m ConferenceMemberRecord
	err := s.db.GetContext(ctx, &m, s.rebind(`SELECT m.conference_id, m.call_id, m.mute, m.hold, m.call_ids_to_coach, m.join_time, m.exit_time
		FROM conference_members m JOIN conferences c ON c.id = m.conference_id
		WHERE m.conference_id = ? AND m.call_id = ? AND c.account_id = ?`), conferenceID, callID, accountID)
	if err != nil {
		return ConferenceMemberRecord{}, notFound(err, "conference member "+callID)
	}
	if err := m.decode(); err != nil {
		return ConferenceMemberRecord{}, fmt.Errorf("member %s: %w", callID, err)
	}
	return m, nil
}

// ConferenceFilter selects conferences as listConferences does.
type ConferenceFilter struct {
	Name                           string
	MinCreatedTime, MaxCreatedTime time.Time
	PageSize                       int    // 1..1000, default 1000
	PageToken                      string // from the previous page's NextPageToken
}

// ConferencePage is one page of conferences, oldest first.
type ConferencePage struct {
	Conferences   []ConferenceRecord
	NextPageToken string // empty on the last page
}

// Conferences lists an account's conferences (without their members).
func (s *Store) Conferences(ctx context.Context, accountID string, f ConferenceFilter) (ConferencePage, error) {
	if f.PageSize <= 0 {
		f.PageSize = 1000
	}
	q := "SELECT " + conferenceColumns + " FROM conferences WHERE account_id = ?"
	args := []any{accountID}
	if f.Name != "" {
		q += " AND name = ?"
		args = append(args, f.Name)
	}
	if !f.MinCreatedTime.IsZero() {
		q += " AND created_time >= ?"
		args = append(args, f.MinCreatedTime.UTC())
	}
	if !f.MaxCreatedTime.IsZero() {
		q += " AND created_time <= ?"
		args = append(args, f.MaxCreatedTime.UTC())
	}
	if f.PageToken != "" {
		t, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return ConferencePage{}, err
		}
		q += " AND (created_time > ? OR (created_time = ? AND id > ?))"
		args = append(args, t, t, id)
	}
	q += " ORDER BY created_time, id LIMIT ?"
	args = append(args, f.PageSize+1)
	var cs []ConferenceRecord
	if err := s.db.SelectContext(ctx, &cs, s.rebind(q), args...); err != nil {
		return ConferencePage{}, fmt.Errorf("list conferences: %w", err)
	}
	var next string
	if len(cs) > f.PageSize {
		cs = cs[:f.PageSize]
		last := cs[len(cs)-1]
		next = encodePageToken(last.CreatedTime, last.ID)
	}
	for i := range cs {
		cs[i].CreatedTime = cs[i].CreatedTime.UTC()
	}
	return ConferencePage{Conferences: cs, NextPageToken: next}, nil
}

// ConferenceRecordingRecord indexes a recording of a conference's mix.
type ConferenceRecordingRecord struct {
	ID           string    `db:"id"`
	AccountID    string    `db:"account_id"`
	ConferenceID string    `db:"conference_id"`
	Channels     int       `db:"channels"`
	FileFormat   string    `db:"file_format"`
	Status       string    `db:"status"`
	FilePath     string    `db:"file_path"`
	SizeBytes    int64     `db:"size_bytes"`
	DurationMS   int64     `db:"duration_ms"`
	StartTime    time.Time `db:"start_time"`
	EndTime      time.Time `db:"end_time"`
	Name         string    `db:"recording_name"`
	// ConferenceName is the conference's name (read with it).
	ConferenceName string `db:"conference_name"`
}

const conferenceRecordingColumns = `r.id, r.account_id, r.conference_id, r.channels, r.file_format, r.status, r.file_path,
	r.size_bytes, r.duration_ms, r.start_time, r.end_time, r.recording_name, c.name AS conference_name`

// CreateConferenceRecording indexes a finished recording of a conference.
func (s *Store) CreateConferenceRecording(ctx context.Context, r ConferenceRecordingRecord) error {
	r.StartTime, r.EndTime = r.StartTime.UTC(), r.EndTime.UTC()
	if _, err := s.db.NamedExecContext(ctx, `INSERT INTO conference_recordings (id, account_id, conference_id, channels,
		file_format, status, file_path, size_bytes, duration_ms, start_time, end_time, recording_name) VALUES (
		:id, :account_id, :conference_id, :channels, :file_format, :status, :file_path, :size_bytes, :duration_ms,
		:start_time, :end_time, :recording_name)`, r); err != nil {
		return fmt.Errorf("create conference recording %s: %w", r.ID, err)
	}
	return nil
}

// ConferenceRecordings lists a conference's recordings, oldest first.
func (s *Store) ConferenceRecordings(ctx context.Context, accountID, conferenceID string) ([]ConferenceRecordingRecord, error) {
	var rs []ConferenceRecordingRecord
	err := s.db.SelectContext(ctx, &rs, s.rebind("SELECT "+conferenceRecordingColumns+
		" FROM conference_recordings r JOIN conferences c ON c.id = r.conference_id WHERE r.account_id = ? AND r.conference_id = ? ORDER BY r.start_time, r.id"),
		accountID, conferenceID)
	if err != nil {
		return nil, fmt.Errorf("list recordings of conference %s: %w", conferenceID, err)
	}
	for i := range rs {
		rs[i].StartTime, rs[i].EndTime = rs[i].StartTime.UTC(), rs[i].EndTime.UTC()
	}
	return rs, nil
}

// ConferenceRecording returns one recording of a conference.
func (s *Store) ConferenceRecording(ctx context.Context, accountID, conferenceID, id string) (ConferenceRecordingRecord, error) {
	var r ConferenceRecordingRecord
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+conferenceRecordingColumns+
		" FROM conference_recordings r JOIN conferences c ON c.id = r.conference_id WHERE r.id = ? AND r.conference_id = ? AND r.account_id = ?"),
		id, conferenceID, accountID)
	if err != nil {
		return ConferenceRecordingRecord{}, notFound(err, "conference recording "+id)
	}
	r.StartTime, r.EndTime = r.StartTime.UTC(), r.EndTime.UTC()
	return r, nil
}

// ConferenceRecordingsBefore lists up to limit conference recordings that
// started before t, oldest first (the retention sweep).
func (s *Store) ConferenceRecordingsBefore(ctx context.Context, t time.Time, limit int) ([]ConferenceRecordingRecord, error) {
	var rs []ConferenceRecordingRecord
	err := s.db.SelectContext(ctx, &rs, s.rebind("SELECT "+conferenceRecordingColumns+
		" FROM conference_recordings r JOIN conferences c ON c.id = r.conference_id WHERE r.start_time < ? ORDER BY r.start_time, r.id LIMIT ?"), t.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list conference recordings before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return rs, nil
}

// DeleteConferenceRecording removes a conference recording's index entry.
func (s *Store) DeleteConferenceRecording(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM conference_recordings WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("delete conference recording %s: %w", id, err)
	}
	return mustAffect(res, "conference recording "+id)
}
