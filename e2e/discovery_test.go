package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SIP discovery against a real Kamailio (e2e/bench/kamailio.cfg, which
// answers OPTIONS statelessly with Kamailio's own Server header) on a free
// UDP port: the discovery finds it on that port over UDP, names it, and
// recommends it; TCP and TLS on the port, where nothing listens, fail.
func TestDiscoveryFindsKamailio(t *testing.T) {
	cfg, err := filepath.Abs(filepath.Join("bench", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	addr := runKamailio(t, cfg)
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)

	s := startServer(t)
	var out map[string]any
	if code := s.call("POST", "/v1/sip/discover", map[string]any{"host": "127.0.0.1", "port": port}, &out); code != 200 {
		t.Fatalf("discover: HTTP %d", code)
	}
	id := out["data"].(map[string]any)["discovery_id"].(string)
	var st map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code := s.call("GET", "/v1/sip/discover/status?discovery_id="+id, nil, &out); code != 200 {
			t.Fatalf("status: HTTP %d", code)
		}
		if st = out["data"].(map[string]any); st["status"] != "running" {
			break
		}
	}
	if st["status"] != "completed" || st["probes_done"] != 3.0 {
		t.Fatalf("discovery: %v", st)
	}
	rec, _ := st["recommended"].(map[string]any)
	if rec["address"] != "127.0.0.1" || rec["port"] != float64(port) || rec["transport"] != "udp" || rec["detected_system"] != "Kamailio" {
		t.Errorf("recommended %v", st["recommended"])
	}
	for _, a := range st["attempts"].([]any) {
		a := a.(map[string]any)
		if a["transport"] == "udp" {
			if a["response_code"] != 200.0 || !strings.Contains(strings.ToLower(fmt.Sprint(a["user_agent"])), "kamailio") {
				t.Errorf("udp attempt %v", a)
			}
		} else if a["response_code"] != nil || a["error"] == nil {
			t.Errorf("%v attempt where nothing listens: %v", a["transport"], a)
		}
	}
}
