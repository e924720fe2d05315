package trunkops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// SIP test calls (POST /v1/sip/test-call): one short call at a time per
// account to a number through its outbound route, whose outcome and SIP
// timeline GET /v1/sip/test-call/status reads from the call's record and
// SIP trace.

// Test call bounds: how long it rings, and how long an answered test call
// stays up before it hangs up.
const (
	TestCallRing = 30 * time.Second
	TestCallHold = 3 * time.Second
)

// ErrTestCallRunning refuses a test call while the account's last one runs.
var ErrTestCallRunning = errors.New("a test call is already running for this account")

// Test calls place real calls through a customer's trunk (and may cost
// them money): at most TestCallLimit per account in TestCallWindow, as
// Bland allows.
const (
	TestCallLimit  = 10
	TestCallWindow = 15 * time.Minute
)

// RateLimitedError refuses a test call past TestCallLimit; RetryAfter is
// when the oldest one in the window leaves it.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("at most %d test calls in %s: try again in %s", TestCallLimit, TestCallWindow, e.RetryAfter.Round(time.Second))
}

// TestCallEngine places test calls and reports live calls (calls.Engine).
type TestCallEngine interface {
	TestCall(ctx context.Context, accountID, number string, ring, hold time.Duration) (store.CallRecord, error)
	LiveCall(accountID, id string) (store.CallRecord, bool)
}

// TestCallStore reads ended calls and their SIP traces.
type TestCallStore interface {
	Call(ctx context.Context, accountID, id string) (store.CallRecord, error)
	CallTrace(ctx context.Context, callID string) ([]store.SIPMessage, error)
}

// TestCalls keeps each account's last test call.
type TestCalls struct {
	engine TestCallEngine
	store  TestCallStore
	log    *slog.Logger

	mu     sync.Mutex
	last   map[string]string      // account ID → call ID
	placed map[string][]time.Time // account ID → test calls in the window, oldest first
	now    func() time.Time       // tests move the clock
}

// NewTestCalls returns the node's test call keeper.
func NewTestCalls(e TestCallEngine, s TestCallStore, log *slog.Logger) *TestCalls {
	if log == nil {
		log = slog.Default()
	}
	return &TestCalls{engine: e, store: s, log: log, last: map[string]string{}, placed: map[string][]time.Time{}, now: time.Now}
}

// Start places a test call to number; ErrTestCallRunning while the
// account's previous one is live.
func (t *TestCalls) Start(ctx context.Context, accountID, number string) (store.CallRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.last[accountID]; ok {
		if _, live := t.engine.LiveCall(accountID, id); live {
			return store.CallRecord{}, ErrTestCallRunning
		}
	}
	now := t.now()
	recent := t.placed[accountID]
	for len(recent) > 0 && now.Sub(recent[0]) >= TestCallWindow {
		recent = recent[1:]
	}
	t.placed[accountID] = recent
	if len(recent) >= TestCallLimit {
		return store.CallRecord{}, &RateLimitedError{RetryAfter: recent[0].Add(TestCallWindow).Sub(now)}
	}
	rec, err := t.engine.TestCall(ctx, accountID, number, TestCallRing, TestCallHold)
	if err != nil {
		return store.CallRecord{}, err
	}
	t.placed[accountID] = append(recent, now)
	t.last[accountID] = rec.ID
	t.log.Info("sip test call placed", "accountId", accountID, "callId", rec.ID, "phoneNumber", number)
	return rec, nil
}

// TestCallStatus is a test call's state, outcome and SIP timeline.
type TestCallStatus struct {
	CallID, PhoneNumber string
	Running             bool
	// Success: answered and ended normally; else, once ended, SIPCode and
	// Reason are the final error response (0 when there was none, as on a
	// timeout) and Reason says what went wrong.
	Success   bool
	SIPCode   int
	Reason    string
	StartedAt time.Time
	Duration  time.Duration
	Timeline  []TimelineEvent
}

// TimelineEvent is one SIP message of a test call's trace.
type TimelineEvent struct {
	At        time.Time
	Offset    time.Duration // since the first message
	Sent      bool          // sent by this node, else received
	Method    string        // the request's method, or the response's CSeq method
	Status    int           // a response's status code, 0 for a request
	Reason    string        // a response's reason phrase
	StartLine string
}

// Status reads the account's test call callID ("" for its last one);
// store.ErrNotFound when there is none.
func (t *TestCalls) Status(ctx context.Context, accountID, callID string) (TestCallStatus, error) {
	if callID == "" {
		t.mu.Lock()
		callID = t.last[accountID]
		t.mu.Unlock()
		if callID == "" {
			return TestCallStatus{}, fmt.Errorf("test call of account %s: %w", accountID, store.ErrNotFound)
		}
	}
	if rec, live := t.engine.LiveCall(accountID, callID); live {
		if rec.Tag != testCallTag {
			return TestCallStatus{}, fmt.Errorf("test call %s: %w", callID, store.ErrNotFound)
		}
		return TestCallStatus{CallID: callID, PhoneNumber: rec.To, Running: true, StartedAt: rec.StartTime,
			Duration: time.Since(rec.StartTime), Timeline: []TimelineEvent{}}, nil
	}
	rec, err := t.store.Call(ctx, accountID, callID)
	if err != nil {
		return TestCallStatus{}, err
	}
	if rec.Tag != testCallTag {
		return TestCallStatus{}, fmt.Errorf("test call %s: %w", callID, store.ErrNotFound)
	}
	trace, err := t.store.CallTrace(ctx, callID)
	if err != nil {
		return TestCallStatus{}, err
	}
	return Outcome(rec, trace), nil
}

// testCallTag marks a test call's record (calls.Engine.TestCall sets it).
const testCallTag = "sip-test-call"

// Outcome is an ended test call's result and timeline from its record and
// SIP trace.
func Outcome(rec store.CallRecord, trace []store.SIPMessage) TestCallStatus {
	s := TestCallStatus{CallID: rec.ID, PhoneNumber: rec.To, StartedAt: rec.StartTime, Timeline: Timeline(trace)}
	if !rec.EndTime.IsZero() {
		s.Duration = rec.EndTime.Sub(rec.StartTime)
	}
	if !rec.AnswerTime.IsZero() && rec.DisconnectCause == "hangup" {
		s.Success = true
		return s
	}
	for _, e := range s.Timeline {
		if !e.Sent && e.Method == "INVITE" && e.Status >= 300 {
			s.SIPCode, s.Reason = e.Status, e.Reason // the last one: a challenge answered comes first
		}
	}
	if s.SIPCode == 401 || s.SIPCode == 407 {
		s.Reason += " (the trunk refused the credentials)"
	}
	if s.SIPCode == 0 {
		s.Reason = rec.DisconnectCause
		if rec.ErrorMessage != "" {
			s.Reason += ": " + rec.ErrorMessage
		}
	}
	return s
}

// Timeline reads each traced SIP message's start line (and a response's
// CSeq method), in the trace's order.
func Timeline(trace []store.SIPMessage) []TimelineEvent {
	out := make([]TimelineEvent, 0, len(trace))
	for _, m := range trace {
		sc := bufio.NewScanner(strings.NewReader(m.Message))
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		if !sc.Scan() {
			continue
		}
		e := TimelineEvent{At: m.At, Sent: m.Direction == "out", StartLine: strings.TrimSpace(sc.Text())}
		if len(out) > 0 {
			e.Offset = m.At.Sub(out[0].At)
		}
		if rest, ok := strings.CutPrefix(e.StartLine, "SIP/2.0 "); ok {
			code, reason, _ := strings.Cut(rest, " ")
			e.Status, _ = strconv.Atoi(code)
			e.Reason = reason
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					break
				}
				name, value, ok := strings.Cut(line, ":")
				if ok && strings.EqualFold(strings.TrimSpace(name), "CSeq") {
					if f := strings.Fields(value); len(f) == 2 {
						e.Method = strings.ToUpper(f[1])
					}
					break
				}
			}
		} else {
			e.Method, _, _ = strings.Cut(e.StartLine, " ")
		}
		out = append(out, e)
	}
	return out
}
