package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

type testCallStatus struct {
	CallID          string   `json:"call_id"`
	Status          string   `json:"status"`
	Result          string   `json:"result"`
	SIPCode         *int     `json:"sip_code"`
	Reason          *string  `json:"reason"`
	DurationSeconds float64  `json:"duration_seconds"`
	Timeline        []tlItem `json:"timeline"`
}

type tlItem struct {
	Event      string  `json:"event"`
	At         string  `json:"at"`
	OffsetMS   float64 `json:"offset_ms"`
	Direction  string  `json:"direction"`
	Method     string  `json:"method"`
	StatusCode *int    `json:"status_code"`
	Detail     string  `json:"detail"`
}

// startTestCall attaches +14155550100 with an outbound endpoint at the
// sipp scenario and places a test call to it.
func startTestCall(t *testing.T, n *node, scenario string) (*sippRun, string) {
	t.Helper()
	uasPort := testenv.FreeUDPPort(t)
	attachAcmeTrunk(t, n, uasPort)
	uas := startSipp(t, scenario, "-p", strconv.Itoa(uasPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)), "-rtp_echo")
	var started struct {
		Data struct {
			CallID  string `json:"call_id"`
			Message string `json:"message"`
		} `json:"data"`
	}
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": "+14155550100"}, &started); code != 200 || started.Data.CallID == "" {
		t.Fatalf("test-call: %d %+v", code, started)
	}
	return uas, started.Data.CallID
}

// waitTestCall polls the status until the test call completed.
func waitTestCall(t *testing.T, n *node, callID string) testCallStatus {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		var out struct {
			Data testCallStatus `json:"data"`
		}
		if code := n.call(t, "GET", "/v1/sip/test-call/status?call_id="+callID, nil, &out); code != 200 {
			t.Fatalf("status: %d", code)
		}
		if out.Data.Status == "completed" {
			return out.Data
		}
		if out.Data.Status != "running" || out.Data.Result != "pending" {
			t.Fatalf("status while running: %+v", out.Data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("test call still running: %+v", out.Data)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkTimelineIsTrace compares the timeline with the call's SIP trace as
// its call log shows it, and returns the timeline's events without
// retransmissions.
func checkTimelineIsTrace(t *testing.T, n *node, st testCallStatus) []string {
	t.Helper()
	var log struct {
		SIPTrace []struct {
			Time      time.Time `json:"time"`
			Direction string    `json:"direction"`
			Message   string    `json:"message"`
		} `json:"sipTrace"`
	}
	if code := n.call(t, "GET", "/api/v2/accounts/"+n.creds.AccountID+"/calls/"+st.CallID+"/log", nil, &log); code != 200 {
		t.Fatalf("call log: %d", code)
	}
	if len(log.SIPTrace) != len(st.Timeline) {
		t.Fatalf("timeline has %d entries, the trace %d: %+v", len(st.Timeline), len(log.SIPTrace), st.Timeline)
	}
	var events []string
	for i, m := range log.SIPTrace {
		e := st.Timeline[i]
		first, _, _ := strings.Cut(m.Message, "\r\n")
		at, err := time.Parse(time.RFC3339Nano, e.At)
		if err != nil || !at.Equal(m.Time) || e.Detail != first || e.Direction != map[string]string{"out": "sent", "in": "received"}[m.Direction] {
			t.Errorf("timeline[%d] = %+v, trace: %s %s %q", i, e, m.Time, m.Direction, first)
		}
		if want := float64(m.Time.Sub(log.SIPTrace[0].Time).Microseconds()) / 1000; e.OffsetMS != want {
			t.Errorf("timeline[%d] offset %v, want %v", i, e.OffsetMS, want)
		}
		ev := e.Direction + " " + e.Event + " " + e.Method
		if len(events) == 0 || events[len(events)-1] != ev {
			events = append(events, ev)
		}
	}
	return events
}

// A test call to a trunk that challenges, rings and answers goes running →
// completed with result success, and its timeline is the call's SIP trace:
// INVITE, 401, ACK, the authenticated INVITE, 100, 180, 200, ACK, our BYE
// and its 200. A second test call while it runs is refused with 409, and a
// number without an outbound route with a 400 naming phone_number.
func TestSIPTestCallAnswered(t *testing.T) {
	n := startNode(t)
	uas, callID := startTestCall(t, n, "testcall_uas.xml")
	var out map[string]any
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": "+14155550100"}, &out); code != 409 {
		t.Errorf("second test call: %d %v", code, out)
	}
	if code := n.call(t, "GET", "/v1/sip/test-call/status", nil, &out); code != 200 {
		t.Errorf("status of the last test call: %d %v", code, out)
	}
	st := waitTestCall(t, n, callID)
	uas.wait(t, 30*time.Second)
	if st.Result != "success" || st.SIPCode != nil || st.Reason != nil || st.DurationSeconds < 3 || st.DurationSeconds > 20 {
		t.Errorf("status: %+v", st)
	}
	events := checkTimelineIsTrace(t, n, st)
	// In order, give or take UDP retransmissions (an INVITE resent before
	// its 401 came back); a BYE's 200 may be traced before the BYE itself.
	want := []string{"sent INVITE INVITE", "received 401 INVITE", "sent ACK ACK", "sent INVITE INVITE", "received 100 INVITE",
		"received 180 INVITE", "received 200 INVITE", "sent ACK ACK", "sent BYE BYE"}
	if !isSubsequence(want, events) || !slices.Contains(events, "received 200 BYE") {
		t.Errorf("timeline events:\n got %q\nwant %q and received 200 BYE", events, want)
	}
	for _, e := range events {
		if !slices.Contains(want, e) && e != "received 200 BYE" {
			t.Errorf("unexpected timeline event %q in %q", e, events)
		}
	}

	// Another one may go once it completed; an unrouted number may not.
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": "+14155550199"}, &out); code != 400 || !strings.Contains(fmt.Sprint(out), "phone_number") {
		t.Errorf("unrouted number: %d %v", code, out)
	}
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": 14155550100}, &out); code != 400 || !strings.Contains(fmt.Sprint(out), "phone_number") {
		t.Errorf("wrong type: %d %v", code, out)
	}
}

// A trunk that answers 486 fails the test call with that code, and the
// timeline shows the INVITE, 100 and 486.
func TestSIPTestCallBusy(t *testing.T) {
	n := startNode(t)
	var out map[string]any
	if code := n.call(t, "GET", "/v1/sip/test-call/status", nil, &out); code != 404 {
		t.Errorf("status before any test call: %d %v", code, out)
	}
	uas, callID := startTestCall(t, n, "busy_uas.xml")
	st := waitTestCall(t, n, callID)
	uas.wait(t, 30*time.Second)
	if st.Result != "failure" || st.SIPCode == nil || *st.SIPCode != 486 || st.Reason == nil || *st.Reason != "Busy Here" {
		t.Errorf("status: %+v", st)
	}
	events := checkTimelineIsTrace(t, n, st)
	want := []string{"sent INVITE INVITE", "received 100 INVITE", "received 486 INVITE"}
	if len(events) < len(want) || !slices.Equal(events[:len(want)], want) {
		t.Errorf("timeline events:\n got %q\nwant %q first", events, want)
	}
}

// isSubsequence reports whether want appears in got in order (with other
// elements between).
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// A trunk endpoint where nothing listens fails the test call without a SIP
// code: the reason is the call's disconnect cause and error, and the
// timeline holds the INVITE that went unanswered.
func TestSIPTestCallNothingListening(t *testing.T) {
	n := startNode(t)
	attachAcmeTrunk(t, n, testenv.FreeUDPPort(t))
	var started struct {
		Data struct {
			CallID string `json:"call_id"`
		} `json:"data"`
	}
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": "+14155550100"}, &started); code != 200 {
		t.Fatalf("test-call: %d", code)
	}
	st := waitTestCall(t, n, started.Data.CallID)
	if st.Result != "failure" || st.SIPCode != nil || st.Reason == nil || *st.Reason == "" {
		t.Errorf("status: %+v", st)
	}
	t.Logf("reason: %s, %.1f s", *st.Reason, st.DurationSeconds)
	events := checkTimelineIsTrace(t, n, st)
	if len(events) == 0 || events[0] != "sent INVITE INVITE" {
		t.Errorf("timeline events: %q", events)
	}
}
