package server

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// sipStatus is GET /v1/sip/status's data for a number.
func (n *node) sipStatus(t *testing.T, number string) map[string]any {
	t.Helper()
	var out map[string]any
	if code := n.call(t, "GET", "/v1/sip/status?phone_number="+url.QueryEscape(number), nil, &out); code != 200 {
		t.Fatalf("sip status of %s: HTTP %d %v", number, code, out)
	}
	data, _ := out["data"].(map[string]any)
	return data
}

// waitStatus polls the number's status until it is want (the probes run
// every 200 ms; an unanswered one takes its 5 s timeout).
func (n *node) waitStatus(t *testing.T, number, want string) map[string]any {
	t.Helper()
	var st map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st = n.sipStatus(t, number); st["status"] == want {
			return st
		}
	}
	t.Fatalf("%s stayed %v, want %s: %v", number, st["status"], want, st)
	return nil
}

// Trunk health against a real endpoint (sipp answering OPTIONS): healthy
// with its response time while it answers, unreachable with the error when
// it stops, healthy again when it returns, and the uptime in between; an
// inbound-only number is unchecked, an unknown one 404.
func TestTrunkHealthProbes(t *testing.T) {
	n := startNode(t, func(c *Config) { c.SIPHealthInterval = 200 * time.Millisecond })
	port := testenv.FreeUDPPort(t)
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550177",
		"directions": []any{map[string]any{
			"type": "outbound", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", port),
			"options": map[string]any{"transport": "udp"},
		}},
	})
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550178",
		"directions":   []any{map[string]any{"type": "inbound", "sip_endpoint": "sip:127.0.0.1:5099"}},
	})

	up := startSipp(t, "options_uas.xml", "-p", strconv.Itoa(port), "-m", "100000")
	st := n.waitStatus(t, "+14155550177", "healthy")
	if st["response_time_ms"] == nil || st["checked_at"] == nil {
		t.Fatalf("answering endpoint: %v", st)
	}
	if st["endpoint"] != fmt.Sprintf("sip:127.0.0.1:%d", port) {
		t.Errorf("endpoint %v", st["endpoint"])
	}
	up.cmd.Process.Kill()
	<-up.err
	up.err <- nil

	st = n.waitStatus(t, "+14155550177", "unreachable")
	if st["response_time_ms"] != nil || st["last_error"] == nil {
		t.Fatalf("stopped endpoint: %v", st)
	}
	if u, _ := st["uptime_percentage"].(float64); u <= 0 || u >= 100 {
		t.Errorf("uptime %v after one answered and one failed probe", st["uptime_percentage"])
	}

	startSipp(t, "options_uas.xml", "-p", strconv.Itoa(port), "-m", "100000")
	st = n.waitStatus(t, "+14155550177", "healthy")
	if st["average_response_time_ms"] == nil {
		t.Fatalf("returned endpoint: %v", st)
	}
	if p, _ := st["probes"].(float64); p < 3 {
		t.Errorf("%v probes, want at least 3", st["probes"])
	}

	if st := n.sipStatus(t, "+14155550178"); st["status"] != "unchecked" || st["endpoint"] != nil || st["checked_at"] != nil {
		t.Errorf("inbound-only number: %v", st)
	}
	var out map[string]any
	if code := n.call(t, "GET", "/v1/sip/status?phone_number=%2B14155550199", nil, &out); code != 404 {
		t.Errorf("unknown number: HTTP %d %v", code, out)
	}
}
