package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCallsTracesAndRecordings(t *testing.T) { forEachEngine(t, testCallsTracesAndRecordings) }

func testCallsTracesAndRecordings(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _ := s.CreateAccount(ctx, "")
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		c := CallRecord{
			ID: "c-" + string(rune('a'+i)), AccountID: acct.ID, ApplicationID: "app", Direction: "inbound",
			From: "+15550000000", To: "sip:app@d", State: "disconnected", StartTime: base.Add(time.Duration(i) * time.Second),
			AnswerTime: base.Add(time.Duration(i)*time.Second + 500*time.Millisecond), EndTime: base.Add(time.Minute),
			DisconnectCause: "hangup", Variables: map[string]string{"k": "v"}, Tag: "t",
		}
		if i == 4 {
			c.DisconnectCause = "busy"
			c.AnswerTime = time.Time{}
		}
		trace := []SIPMessage{{At: base, Direction: "in", Transport: "udp", LocalAddr: "l", RemoteAddr: "r", Message: "INVITE sip:app@d SIP/2.0\r\n\r\n"}}
		logs := []LogEntry{{At: base, Level: "info", Source: "engine", Message: "hello"}}
		if err := s.SaveCall(ctx, c, trace, logs); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCall(ctx, c, trace, logs); err != nil { // saving again replaces
			t.Fatal(err)
		}
	}
	got, err := s.Call(ctx, acct.ID, "c-a")
	if err != nil || got.Variables["k"] != "v" || !got.AnswerTime.Equal(base.Add(500*time.Millisecond)) || got.Tag != "t" {
		t.Fatalf("call: %+v %v", got, err)
	}
	if c, _ := s.Call(ctx, acct.ID, "c-e"); !c.AnswerTime.IsZero() {
		t.Fatal("unanswered call has an answer time")
	}
	if _, err := s.Call(ctx, "other", "c-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account: %v", err)
	}
	// Paging walks every call once, in order.
	var seen []string
	f := CallFilter{PageSize: 2}
	for {
		p, err := s.Calls(ctx, acct.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Calls {
			seen = append(seen, c.ID)
		}
		if p.NextPageToken == "" {
			break
		}
		f.PageToken = p.NextPageToken
	}
	if len(seen) != 5 || seen[0] != "c-a" || seen[4] != "c-e" {
		t.Fatalf("pages: %v", seen)
	}
	if p, _ := s.Calls(ctx, acct.ID, CallFilter{DisconnectCause: "busy"}); len(p.Calls) != 1 {
		t.Fatalf("cause filter: %d", len(p.Calls))
	}
	if p, _ := s.Calls(ctx, acct.ID, CallFilter{MinStartTime: base.Add(3 * time.Second)}); len(p.Calls) != 2 {
		t.Fatalf("min start filter: %d", len(p.Calls))
	}
	if _, err := s.Calls(ctx, acct.ID, CallFilter{PageToken: "!!"}); !errors.Is(err, ErrBadPageToken) {
		t.Fatalf("bad token: %v", err)
	}
	tr, _ := s.CallTrace(ctx, "c-a")
	lg, _ := s.CallLog(ctx, "c-a")
	if len(tr) != 1 || tr[0].Direction != "in" || len(lg) != 1 || lg[0].Message != "hello" {
		t.Fatalf("trace %v log %v", tr, lg)
	}

	rec := RecordingRecord{ID: "r-1", AccountID: acct.ID, ApplicationID: "app", CallID: "c-a", Direction: "inbound",
		Channels: 1, FileFormat: "wav", Status: "complete", FilePath: "/x.wav", SizeBytes: 44, DurationMS: 1500, StartTime: base, EndTime: base.Add(1500 * time.Millisecond)}
	if err := s.CreateRecording(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rs, _ := s.CallRecordings(ctx, acct.ID, "c-a")
	if len(rs) != 1 || rs[0] != rec {
		t.Fatalf("recordings: %+v", rs)
	}
	if d, err := s.DeleteRecording(ctx, acct.ID, "c-a", "r-1"); err != nil || d.FilePath != "/x.wav" {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Recording(ctx, acct.ID, "c-a", "r-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
