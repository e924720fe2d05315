package calls

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// joinConference starts an inbound call whose initiate answers doc and
// returns its call ID once it joined.
func (b *bed) joinConference(t *testing.T) string {
	t.Helper()
	b.invite(newFakeInbound())
	join := b.source.wait(t, bxml.EventConferenceMemberJoin)
	return join.Event.(*bxml.ConferenceMemberEvent).CallID
}

// The engine's side of a conference: creation, joins, the API's member
// updates and errors, a member taken out by a call redirect (its document
// goes on), completion (exits before conferenceCompleted, the rest of each
// document runs), and the stored record.
func TestConferenceLifecycle(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Conference conferenceEventUrl="http://app.test/conf" callbackTimeout="3" tag="t">room</Conference><Hangup/></Response>`)
	a := b.joinConference(t)
	created := b.source.wait(t, bxml.EventConferenceCreated)
	ev := created.Event.(*bxml.ConferenceCreatedEvent)
	if created.Target.URL != "http://app.test/conf" || created.Target.Timeout.Seconds() != 3 || ev.Name != "room" || ev.Tag != "t" {
		t.Errorf("conferenceCreated %+v to %+v", ev, created.Target)
	}
	c := b.joinConference(t)
	confID := ev.ConferenceID
	if err := b.e.UpdateConferenceMember(b.acct, confID, "c-nobody", MemberUpdate{}); !errors.Is(err, ErrNotMember) {
		t.Errorf("update of a call not in it: %v", err)
	}
	if err := b.e.UpdateConferenceMember("other-account", confID, a, MemberUpdate{}); !errors.Is(err, ErrConferenceNotActive) {
		t.Errorf("update from another account: %v", err)
	}
	yes, coach := true, []string{c}
	if err := b.e.UpdateConferenceMember(b.acct, confID, a, MemberUpdate{Mute: &yes, Coach: &coach}); err != nil {
		t.Fatal(err)
	}
	rec, err := b.store.Conference(t.Context(), b.acct, confID)
	if err != nil || len(rec.ActiveMembers) != 2 || !rec.ActiveMembers[0].Mute || !slices.Equal(rec.ActiveMembers[0].CallIDsToCoach, coach) {
		t.Fatalf("stored conference %+v, %v", rec, err)
	}
	// A redirect takes a out; its new document runs.
	if err := b.e.ReplaceCallBXML(b.acct, a, mustParse(t, `<Bxml><Hangup/></Bxml>`)); err != nil {
		t.Fatal(err)
	}
	exit := b.source.wait(t, bxml.EventConferenceMemberExit)
	if exit.Event.(*bxml.ConferenceMemberEvent).CallID != a {
		t.Errorf("first exit %+v", exit.Event)
	}
	if err := b.e.CompleteConference(b.acct, confID); err != nil {
		t.Fatal(err)
	}
	b.source.wait(t, bxml.EventConferenceCompleted)
	types := b.source.types()
	if last := slices.Index(types, bxml.EventConferenceCompleted); last < slices.Index(types, bxml.EventConferenceMemberExit) ||
		strings.Count(strings.Join(eventNames(types), ","), "conferenceMemberExit") != 2 {
		t.Errorf("events %v", types)
	}
	// c's document went on to <Hangup/>.
	if rec := b.record(c); rec.DisconnectCause != bxml.CauseHangup {
		t.Errorf("c ended with %q", rec.DisconnectCause)
	}
	if err := b.e.CompleteConference(b.acct, confID); !errors.Is(err, ErrConferenceNotActive) {
		t.Errorf("completing it again: %v", err)
	}
	rec, _ = b.store.Conference(t.Context(), b.acct, confID)
	if !rec.CompletedTime.Valid || len(rec.ActiveMembers) != 0 {
		t.Errorf("stored after completion %+v", rec)
	}
}

// A conference takes MaxConferenceMembers calls; the next <Conference>
// ends its call with an error saying the conference is full.
func TestConferenceIsCapped(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Conference>big</Conference></Response>`)
	for range MaxConferenceMembers {
		b.joinConference(t)
	}
	b.invite(newFakeInbound())
	var initiates []string
	for range MaxConferenceMembers + 1 {
		initiates = append(initiates, b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID)
	}
	rec := b.record(initiates[MaxConferenceMembers])
	if rec.DisconnectCause != bxml.CauseError || !strings.Contains(rec.ErrorMessage, "is full (50 members)") {
		t.Errorf("the 51st call ended with %q: %s", rec.DisconnectCause, rec.ErrorMessage)
	}
}

func eventNames(ts []bxml.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func mustParse(t *testing.T, doc string) *bxml.Document {
	t.Helper()
	d, err := bxml.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
