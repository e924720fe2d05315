package server

import (
	"testing"
	"time"
)

// createCall with machineDetection, through the API: in sync mode the
// answer callback carries machineDetectionResult, in async mode
// machineDetectionComplete goes to callbackUrl and its BXML takes over;
// both bodies match the spec's schemas. The phone sends no audio: silence.
func TestCreateCallMachineDetection(t *testing.T) {
	n := startNode(t)
	bob := newPhone(t, 'B', true)
	appID, _ := n.app(t, map[string]any{})
	for _, mode := range []string{"sync", "async"} {
		h := newHook(t, func(ev event) string {
			switch ev.Path {
			case "/answer-sync", "/amd":
				return `<Response><Hangup/></Response>`
			case "/answer-async":
				return `<Response><Pause duration="20"/></Response>`
			}
			return ""
		})
		code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
			"from": "+15550003333", "to": bob.uri("bob"), "applicationId": appID, "answerUrl": h.url("/answer-" + mode), "disconnectUrl": h.url("/disconnect"),
			"machineDetection": map[string]any{"mode": mode, "silenceTimeout": 0.5, "detectionTimeout": 5, "callbackUrl": h.url("/amd")},
		}, nil)
		if code != 201 {
			t.Fatalf("createCall %s: HTTP %d", mode, code)
		}
		select {
		case <-bob.calls:
		case <-time.After(10 * time.Second):
			t.Fatal("bob was never called")
		}
		ev := h.wait("answer", 10*time.Second)
		if mode == "async" {
			ev = h.wait("machineDetectionComplete", 10*time.Second)
			if ev.Path != "/amd" {
				t.Errorf("machineDetectionComplete went to %s", ev.Path)
			}
		}
		res, _ := ev.Body["machineDetectionResult"].(map[string]any)
		if res["value"] != "silence" || res["duration"] == "" {
			t.Errorf("%s: %s carries %v", mode, ev.Type, ev.Body)
		}
		checkSchema(t, ev)
		h.wait("disconnect", 10*time.Second)
	}
	code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550003333", "to": bob.uri("bob"), "applicationId": appID, "answerUrl": "http://127.0.0.1:1/answer",
		"machineDetection": map[string]any{"mode": "later"},
	}, nil)
	if code != 400 && code != 422 {
		t.Errorf("machineDetection.mode later: HTTP %d, want 400", code)
	}
}
