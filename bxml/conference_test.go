package bxml

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type conferenceFake struct {
	*fakeCall
	joined []string
}

func (f *conferenceFake) Conference(_ context.Context, v *Conference) error {
	f.joined = append(f.joined, v.Name)
	return f.record("conference:%s", v.Name)
}

// <Conference> joins, then the document goes on when the call leaves.
func TestRunConference(t *testing.T) {
	c := &conferenceFake{fakeCall: newFakeCall()}
	doc := mustParse(t, `<Response><Conference mute="true" callIdsToCoach="c-1,c-2" tag="t">room</Conference><SpeakSentence>bye</SpeakSentence></Response>`)
	out, err := Run(testCtx(t), doc, c)
	if err != nil || out.Kind != OutcomeEnd {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if want := []string{"answer", "conference:room", "speak:bye"}; !reflect.DeepEqual(c.Log(), want) {
		t.Errorf("log %q, want %q", c.Log(), want)
	}
	v := doc.Verbs[0].(*Conference)
	if !v.Mute || v.Hold || v.CallIdsToCoach != "c-1,c-2" || v.CallbackTimeout != 15 {
		t.Errorf("attributes %+v", v)
	}
	// A Call that cannot join conferences says so.
	if _, err := Run(testCtx(t), doc, newFakeCall()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Run on a plain call = %v", err)
	}
}

func TestConferenceEventsJSON(t *testing.T) {
	at := At(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	base := ConferenceEvent{ConferenceID: "conf-1", Name: "room", Tag: "t"}
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{&ConferenceCreatedEvent{base}, `{"eventType":"conferenceCreated","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":"t"}`},
		{&ConferenceCompletedEvent{ConferenceEvent{ConferenceID: "conf-1", Name: "room"}}, `{"eventType":"conferenceCompleted","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":null}`},
		{&ConferenceRedirectEvent{base}, `{"eventType":"conferenceRedirect","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":"t"}`},
		{&ConferenceMemberEvent{ConferenceEvent: base, From: "+1", To: "+2", CallID: "c-1"},
			`{"eventType":"conferenceMemberJoin","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":"t","from":"+1","to":"+2","callId":"c-1"}`},
		{&ConferenceMemberEvent{ConferenceEvent: base, Exit: true, From: "+1", To: "+2", CallID: "c-1"},
			`{"eventType":"conferenceMemberExit","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":"t","from":"+1","to":"+2","callId":"c-1"}`},
		{&ConferenceRecordingAvailableEvent{ConferenceEvent: base, AccountID: "a", RecordingID: "r-1", Channels: 1, StartTime: at, EndTime: at,
			Duration: "PT1S", FileFormat: "wav", MediaURL: "http://x/media", Status: "complete"},
			`{"eventType":"conferenceRecordingAvailable","eventTime":"2026-01-02T03:04:05.000Z","conferenceId":"conf-1","name":"room","tag":"t","accountId":"a","recordingId":"r-1","channels":1,"startTime":"2026-01-02T03:04:05.000Z","endTime":"2026-01-02T03:04:05.000Z","duration":"PT1S","fileFormat":"wav","mediaUrl":"http://x/media","status":"complete"}`},
	} {
		tc.ev.Fill(&CallInfo{CallID: "ignored"})
		tc.ev.Common().EventTime = at
		b, err := json.Marshal(tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.ev.Type(), b, tc.want)
		}
	}
	if !EventConferenceRedirect.ExpectsBXML() || EventConferenceMemberJoin.ExpectsBXML() {
		t.Error("only conferenceRedirect takes BXML")
	}
}

func TestCheckConference(t *testing.T) {
	ok := mustParse(t, `<Bxml><SpeakSentence>hi</SpeakSentence><PlayAudio>http://x/a.wav</PlayAudio><StartRecording/><PauseRecording/><ResumeRecording/><StopRecording/></Bxml>`)
	if err := CheckConference(ok); err != nil {
		t.Errorf("CheckConference = %v", err)
	}
	bad := mustParse(t, "<Bxml>\n<Gather/></Bxml>")
	err := CheckConference(bad)
	var be *Error
	if !errors.As(err, &be) || be.Verb != "Gather" || be.Line != 2 {
		t.Errorf("CheckConference = %v", err)
	}
}
