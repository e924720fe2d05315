package trunkops

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

func traceOf(t0 time.Time, msgs ...string) []store.SIPMessage {
	var out []store.SIPMessage
	for i := 0; i < len(msgs); i += 2 {
		out = append(out, store.SIPMessage{At: t0.Add(time.Duration(i) * 10 * time.Millisecond), Direction: msgs[i], Message: msgs[i+1]})
	}
	return out
}

// Outcome: answered and hung up is a success; otherwise the last final
// error response to the INVITE (a challenge answered comes before it) is
// the code, and without one the disconnect cause and error say why.
func TestTestCallOutcome(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	invite := "INVITE sip:+14155550100@127.0.0.1:5070 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"
	resp := func(line, cseq string) string { return "SIP/2.0 " + line + "\r\nVia: x\r\ncseq:  " + cseq + "\r\n\r\n" }
	answered := store.CallRecord{ID: "c-1", To: "+14155550100", StartTime: t0, AnswerTime: t0.Add(time.Second), EndTime: t0.Add(4 * time.Second), DisconnectCause: "hangup"}
	for _, tc := range []struct {
		name    string
		rec     store.CallRecord
		trace   []store.SIPMessage
		success bool
		code    int
		reason  string
	}{
		{"answered", answered, traceOf(t0, "out", invite, "in", resp("200 OK", "1 INVITE"), "out", "ACK sip:x SIP/2.0\r\nCSeq: 1 ACK\r\n\r\n"), true, 0, ""},
		{"challenged then busy", store.CallRecord{StartTime: t0, EndTime: t0.Add(time.Second), DisconnectCause: "busy"},
			traceOf(t0, "out", invite, "in", resp("407 Proxy Authentication Required", "1 INVITE"), "out", invite, "in", resp("486 Busy Here", "2 INVITE")), false, 486, "Busy Here"},
		{"credentials refused", store.CallRecord{StartTime: t0, EndTime: t0.Add(time.Second), DisconnectCause: "rejected"},
			traceOf(t0, "out", invite, "in", resp("401 Unauthorized", "1 INVITE"), "out", invite, "in", resp("401 Unauthorized", "2 INVITE")), false, 401, "Unauthorized (the trunk refused the credentials)"},
		{"timeout", store.CallRecord{StartTime: t0, EndTime: t0.Add(30 * time.Second), DisconnectCause: "timeout", ErrorMessage: "no answer"},
			traceOf(t0, "out", invite, "out", invite), false, 0, "timeout: no answer"},
		{"answered, then media failed", store.CallRecord{StartTime: t0, AnswerTime: t0, EndTime: t0.Add(time.Minute), DisconnectCause: "error", ErrorMessage: "media timeout"},
			traceOf(t0, "out", invite, "in", resp("200 OK", "1 INVITE")), false, 0, "error: media timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Outcome(tc.rec, tc.trace)
			if s.Success != tc.success || s.SIPCode != tc.code || s.Reason != tc.reason || s.Running {
				t.Errorf("outcome: %+v", s)
			}
			if len(s.Timeline) != len(tc.trace) || s.Duration != tc.rec.EndTime.Sub(tc.rec.StartTime) {
				t.Errorf("timeline %d entries for %d messages, duration %s", len(s.Timeline), len(tc.trace), s.Duration)
			}
		})
	}
}

// Timeline: a request's method, a response's code, reason and CSeq method
// (header name in any case), offsets from the first message.
func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	tl := Timeline(traceOf(t0,
		"out", "INVITE sip:+1@h SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n",
		"in", "SIP/2.0 180 Ringing\r\nCSEQ: 1 invite\r\n\r\n",
		"in", "SIP/2.0 200 OK\r\nContent-Length: 0\r\nCSeq: 2 BYE\r\n\r\nbody: CSeq: 9 INFO",
		"in", "",
	))
	want := []TimelineEvent{
		{At: t0, Sent: true, Method: "INVITE", StartLine: "INVITE sip:+1@h SIP/2.0"},
		{At: t0.Add(20 * time.Millisecond), Offset: 20 * time.Millisecond, Method: "INVITE", Status: 180, Reason: "Ringing", StartLine: "SIP/2.0 180 Ringing"},
		{At: t0.Add(40 * time.Millisecond), Offset: 40 * time.Millisecond, Method: "BYE", Status: 200, Reason: "OK", StartLine: "SIP/2.0 200 OK"},
	}
	if len(tl) != len(want) {
		t.Fatalf("timeline: %+v", tl)
	}
	for i := range want {
		if tl[i] != want[i] {
			t.Errorf("timeline[%d] = %+v, want %+v", i, tl[i], want[i])
		}
	}
}

// fakeTestCallEngine places test calls that end at once; fail makes the
// next one fail (a number with no route).
type fakeTestCallEngine struct {
	n    int
	fail error
}

func (f *fakeTestCallEngine) TestCall(_ context.Context, accountID, number string, _, _ time.Duration) (store.CallRecord, error) {
	if f.fail != nil {
		err := f.fail
		f.fail = nil
		return store.CallRecord{}, err
	}
	f.n++
	return store.CallRecord{ID: fmt.Sprintf("c-%d", f.n), AccountID: accountID, To: number}, nil
}

func (f *fakeTestCallEngine) LiveCall(string, string) (store.CallRecord, bool) {
	return store.CallRecord{}, false
}

// Ten test calls per account in fifteen minutes, as Bland allows: the
// eleventh waits for the oldest to leave the window; a call that could not
// be placed does not count; accounts are apart.
func TestTestCallRateLimit(t *testing.T) {
	eng := &fakeTestCallEngine{}
	tc := NewTestCalls(eng, nil, nil)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tc.now = func() time.Time { return clock }
	ctx := context.Background()
	eng.fail = errors.New("no outbound route")
	if _, err := tc.Start(ctx, "acct", "+14155550100"); err == nil {
		t.Fatal("a failing engine's error was swallowed")
	}
	for i := range TestCallLimit {
		if _, err := tc.Start(ctx, "acct", "+14155550100"); err != nil {
			t.Fatalf("test call %d: %v", i+1, err)
		}
		clock = clock.Add(time.Minute)
	}
	_, err := tc.Start(ctx, "acct", "+14155550100")
	var limited *RateLimitedError
	if !errors.As(err, &limited) || limited.RetryAfter != 5*time.Minute {
		t.Fatalf("eleventh test call: %v, want a rate limit lifting in 5m (the first call was 10 minutes ago)", err)
	}
	if _, err := tc.Start(ctx, "other", "+14155550100"); err != nil {
		t.Errorf("another account: %v", err)
	}
	clock = clock.Add(5 * time.Minute)
	if _, err := tc.Start(ctx, "acct", "+14155550100"); err != nil {
		t.Errorf("once the first left the window: %v", err)
	}
	if eng.n != TestCallLimit+2 {
		t.Errorf("%d calls placed, want %d", eng.n, TestCallLimit+2)
	}
}
