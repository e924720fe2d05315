package server

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
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

// The firewall and PBX setup routes name what the node really listens on.
func TestFirewallAndOutboundSetup(t *testing.T) {
	n := startNode(t)
	_, sipPort, _ := strings.Cut(n.sip, "127.0.0.1:")
	lo, hi, _ := ParsePortRange(n.srv.cfg.RTPPorts)
	var out struct {
		Data struct {
			IPAddresses []string `json:"ip_addresses"`
			Ports       struct{ SIP, RTP string }
			Region      string
			Signaling   []struct {
				IP, Transport string
				Port          int
			}
		}
	}
	if code := n.call(t, "GET", "/v1/sip/firewall-ips", nil, &out); code != 200 {
		t.Fatalf("firewall-ips: HTTP %d", code)
	}
	d := out.Data
	if len(d.IPAddresses) != 1 || d.IPAddresses[0] != "127.0.0.1" || d.Region != "US" {
		t.Errorf("firewall-ips: %+v", d)
	}
	if !strings.Contains(d.Ports.SIP, sipPort+" UDP") || d.Ports.RTP != fmt.Sprintf("%d-%d UDP", lo, hi+1) {
		t.Errorf("ports %+v, want SIP %s UDP and RTP %d-%d", d.Ports, sipPort, lo, hi+1)
	}
	if len(d.Signaling) == 0 || d.Signaling[0].Transport != "udp" || strconv.Itoa(d.Signaling[0].Port) != sipPort {
		t.Errorf("signaling %+v", d.Signaling)
	}

	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550180",
		"directions":   []any{map[string]any{"type": "inbound", "auth_mode": "ip"}},
	})
	var setup struct {
		Data struct {
			SIPServer    string `json:"sip_server"`
			Port         int
			Transport    string
			Instructions string
			Credentials  *struct {
				AuthMode string `json:"auth_mode"`
				Password string
			}
		}
	}
	if code := n.call(t, "GET", "/v1/sip/outbound-setup?phone_number=%2B14155550180", nil, &setup); code != 200 {
		t.Fatalf("outbound-setup: HTTP %d", code)
	}
	s := setup.Data
	if s.SIPServer != "127.0.0.1" || strconv.Itoa(s.Port) != sipPort || s.Transport != "udp" ||
		s.Credentials == nil || s.Credentials.AuthMode != "ip" || !strings.Contains(s.Instructions, "sip:+14155550180@127.0.0.1:"+sipPort) {
		t.Errorf("outbound-setup: %+v", s)
	}
	if code := n.call(t, "GET", "/v1/sip/outbound-setup?phone_number=%2B14155550181", nil, &setup); code != 404 {
		t.Errorf("outbound-setup of an unknown number: HTTP %d", code)
	}
}
