package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestConferences(t *testing.T) { forEachEngine(t, testConferences) }

func testConferences(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _ := s.CreateAccount(ctx, "")
	other, _ := s.CreateAccount(ctx, "")
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, name := range []string{"room", "other", "room"} {
		c := ConferenceRecord{ID: "conf-" + string(rune('a'+i)), AccountID: acct.ID, Name: name, ConferenceEventURL: "http://x/ev",
			ConferenceEventMethod: "POST", Tag: "t", CreatedTime: base.Add(time.Duration(i) * time.Minute)}
		if err := s.CreateConference(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	coach := ConferenceMemberRecord{ConferenceID: "conf-a", CallID: "c-2", CallIDsToCoach: []string{"c-1"}, JoinTime: base}
	for _, m := range []ConferenceMemberRecord{{ConferenceID: "conf-a", CallID: "c-1", Mute: true, JoinTime: base}, coach} {
		if err := s.SaveConferenceMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	coach.Hold = true
	if err := s.UpdateConferenceMember(ctx, coach); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conference(ctx, acct.ID, "conf-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ActiveMembers) != 2 || !c.ActiveMembers[0].Mute || c.ActiveMembers[0].CallIDsToCoach != nil ||
		!c.ActiveMembers[1].Hold || !reflect.DeepEqual(c.ActiveMembers[1].CallIDsToCoach, []string{"c-1"}) {
		t.Errorf("members %+v", c.ActiveMembers)
	}
	if err := s.ExitConferenceMember(ctx, "conf-a", "c-1", base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteConference(ctx, "conf-a", base.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteConference(ctx, "conf-a", base.Add(3*time.Second)); !errors.Is(err, ErrNotFound) {
		t.Errorf("completing twice: %v", err)
	}
	// A member that left keeps what it had.
	if err := s.UpdateConferenceMember(ctx, ConferenceMemberRecord{ConferenceID: "conf-a", CallID: "c-1", Hold: true}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.ConferenceMember(ctx, acct.ID, "conf-a", "c-1"); m.Hold || !m.Mute || !m.ExitTime.Valid {
		t.Errorf("left member after an update: %+v", m)
	}
	c, _ = s.Conference(ctx, acct.ID, "conf-a")
	if len(c.ActiveMembers) != 1 || !c.CompletedTime.Valid {
		t.Errorf("after exit: %+v", c)
	}
	m, err := s.ConferenceMember(ctx, acct.ID, "conf-a", "c-1")
	if err != nil || !m.ExitTime.Valid {
		t.Errorf("member c-1 = %+v, %v", m, err)
	}
	if _, err := s.ConferenceMember(ctx, other.ID, "conf-a", "c-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's member: %v", err)
	}
	if _, err := s.Conference(ctx, other.ID, "conf-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's conference: %v", err)
	}
	page, err := s.Conferences(ctx, acct.ID, ConferenceFilter{Name: "room", PageSize: 1})
	if err != nil || len(page.Conferences) != 1 || page.Conferences[0].ID != "conf-a" || page.NextPageToken == "" {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = s.Conferences(ctx, acct.ID, ConferenceFilter{Name: "room", PageSize: 1, PageToken: page.NextPageToken})
	if err != nil || len(page.Conferences) != 1 || page.Conferences[0].ID != "conf-c" || page.NextPageToken != "" {
		t.Fatalf("second page %+v, %v", page, err)
	}
	page, _ = s.Conferences(ctx, acct.ID, ConferenceFilter{MinCreatedTime: base.Add(30 * time.Second), MaxCreatedTime: base.Add(90 * time.Second)})
	if len(page.Conferences) != 1 || page.Conferences[0].ID != "conf-b" {
		t.Errorf("time filter: %+v", page)
	}
	if _, err := s.Conferences(ctx, acct.ID, ConferenceFilter{PageToken: "!!"}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("bad token: %v", err)
	}
	// A conference another node runs stays open through this node's
	// recovery; it completes when that node is reconciled as lost.
	own := s.NodeID()
	s.SetNodeID("node-b")
	if err := s.CreateConference(ctx, ConferenceRecord{ID: "conf-other", AccountID: acct.ID, Name: "elsewhere", CreatedTime: base}); err != nil {
		t.Fatal(err)
	}
	s.SetNodeID(own)
	defer func() {
		if n, err := s.CompleteNodeConferences(ctx, "node-b", base.Add(time.Hour)); err != nil || n != 1 {
			t.Errorf("CompleteNodeConferences = %d, %v; want 1", n, err)
		}
	}()
	// A crash leaves conference-b open; the next start completes it.
	if err := s.SaveConferenceMember(ctx, ConferenceMemberRecord{ConferenceID: "conf-b", CallID: "c-9", JoinTime: base}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CompleteOpenConferences(ctx, base.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("CompleteOpenConferences = %d, %v; want 2 (b and c)", n, err)
	}
	if b, _ := s.Conference(ctx, acct.ID, "conf-b"); !b.CompletedTime.Valid || len(b.ActiveMembers) != 0 {
		t.Errorf("after recovery: %+v", b)
	}
	if o, _ := s.Conference(ctx, acct.ID, "conf-other"); o.CompletedTime.Valid {
		t.Errorf("recovery completed another node's conference: %+v", o)
	}
	r := ConferenceRecordingRecord{ID: "r-1", AccountID: acct.ID, ConferenceID: "conf-a", Channels: 1, FileFormat: "wav",
		Status: RecordingComplete, FilePath: "/x.wav", SizeBytes: 44, DurationMS: 1500, StartTime: base, EndTime: base.Add(time.Second)}
	if err := s.CreateConferenceRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ConferenceRecordings(ctx, acct.ID, "conf-a")
	if err != nil || len(rs) != 1 || rs[0].ConferenceName != "room" || rs[0].DurationMS != 1500 {
		t.Errorf("recordings %+v, %v", rs, err)
	}
	if _, err := s.ConferenceRecording(ctx, acct.ID, "conf-a", "r-1"); err != nil {
		t.Error(err)
	}
	if _, err := s.ConferenceRecording(ctx, acct.ID, "conf-b", "r-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("recording of another conference: %v", err)
	}
}
