package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// dnsServer is a minimal authoritative DNS server on 127.0.0.1 (UDP) for
// tests: it answers A and SRV questions from its tables, AAAA and other
// types of a known name with no answer, and unknown names NXDOMAIN.
type dnsServer struct {
	a   map[string][4]byte // name. -> IPv4
	srv map[string][]dnsmessage.SRVResource
}

func startDNS(t *testing.T, d *dnsServer) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	testenv.Go(t, func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { pc.Close() })
		defer stop()
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return nil
				}
				return err
			}
			if out, err := d.answer(buf[:n]); err == nil {
				pc.WriteTo(out, from)
			}
		}
	})
	return pc.LocalAddr().String()
}

func (d *dnsServer) answer(req []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	_, knownA := d.a[name]
	srvs, knownSRV := d.srv[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: dnsmessage.RCodeSuccess}
	if !knownA && !knownSRV {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch q.Type {
	case dnsmessage.TypeA:
		if knownA {
			if err := b.AResource(rrh, dnsmessage.AResource{A: d.a[name]}); err != nil {
				return nil, err
			}
		}
	case dnsmessage.TypeSRV:
		for _, s := range srvs {
			if err := b.SRVResource(rrh, s); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// Discovery end to end: a local DNS server publishes _sip._udp.example.test
// pointing at a sipp OPTIONS responder (Server, Allow and an SDP) on a
// free port; the discovery
// resolves it, probes it (and a dead port, which keeps it running for a
// probe timeout), shows progress while running, refuses a second one with
// 409, and completes with the responder found on the right port and
// transport, named from its Server header, its methods and codecs read,
// recommended.
func TestSIPDiscovery(t *testing.T) {
	sippPort, deadPort := testenv.FreeUDPPort(t), testenv.FreeUDPPort(t)
	dnsAddr := startDNS(t, &dnsServer{
		a: map[string][4]byte{"example.test.": {127, 0, 0, 1}, "pbx.example.test.": {127, 0, 0, 1}},
		srv: map[string][]dnsmessage.SRVResource{"_sip._udp.example.test.": {{
			Priority: 10, Weight: 5, Port: uint16(sippPort), Target: dnsmessage.MustNewName("pbx.example.test."),
		}}},
	})
	n := startNode(t, func(c *Config) { c.DNSServer = dnsAddr })
	startSipp(t, "options_sdp_uas.xml", "-p", strconv.Itoa(sippPort), "-m", "100")
	waitSippUDP(t, sippPort)

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{}, "host"},
		{map[string]any{"host": "sip:pbx.example.test:5060"}, "host"},
		{map[string]any{"host": "example.test", "port": 0}, "port"},
		{map[string]any{"host": "example.test", "port": 5060, "ports": []int{5060}}, "ports"},
		{map[string]any{"host": "example.test", "transport": "sctp"}, "transport"},
		{map[string]any{"host": "example.test", "url": "http://x"}, "url"},
	} {
		b, _ := json.Marshal(bad.body)
		req, _ := http.NewRequest("POST", n.api+"/v1/sip/discover", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+n.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		problem, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(problem), `"location":"body.`+bad.field+`"`) {
			t.Errorf("POST %s: HTTP %d %s, want 400 naming %s", b, resp.StatusCode, problem, bad.field)
		}
	}

	var out map[string]any
	if code := n.call(t, "POST", "/v1/sip/discover", map[string]any{"host": "example.test", "ports": []int{deadPort, sippPort}}, &out); code != 200 {
		t.Fatalf("discover: HTTP %d %v", code, out)
	}
	data, _ := out["data"].(map[string]any)
	id, _ := data["discovery_id"].(string)
	if id == "" || data["status"] != "running" || data["host"] != "example.test" {
		t.Fatalf("discover answered %v", data)
	}
	if code := n.call(t, "POST", "/v1/sip/discover", map[string]any{"host": "example.test"}, &out); code != 409 {
		t.Errorf("second discovery while one runs: HTTP %d %v, want 409", code, out)
	}

	sawProgress := false
	var st map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code := n.call(t, "GET", "/v1/sip/discover/status?discovery_id="+id, nil, &out); code != 200 {
			t.Fatalf("status: HTTP %d %v", code, out)
		}
		st, _ = out["data"].(map[string]any)
		if st["status"] == "running" {
			done, total := st["probes_done"].(float64), st["probes_total"].(float64)
			if total == 6 && done < total {
				sawProgress = true
			}
			continue
		}
		break
	}
	if st["status"] != "completed" {
		t.Fatalf("discovery did not complete: %v", st)
	}
	if !sawProgress {
		t.Errorf("no progress seen while running")
	}
	// SRV udp to sipp, then 127.0.0.1 on both ports over udp, tcp and tls
	// (udp to sipp's port is the SRV one).
	if st["probes_done"] != 6.0 || st["probes_total"] != 6.0 {
		t.Errorf("probes %v of %v, want 6 of 6", st["probes_done"], st["probes_total"])
	}
	if fmt.Sprint(st["resolved_addresses"]) != "[127.0.0.1]" {
		t.Errorf("resolved_addresses %v", st["resolved_addresses"])
	}
	srvs, _ := st["srv_records"].([]any)
	if len(srvs) != 1 {
		t.Fatalf("srv_records %v", st["srv_records"])
	}
	if s := srvs[0].(map[string]any); s["name"] != "_sip._udp.example.test" || s["target"] != "pbx.example.test" || s["port"] != float64(sippPort) {
		t.Errorf("srv record %v", s)
	}
	answered := 0
	for _, a := range st["attempts"].([]any) {
		a := a.(map[string]any)
		if a["response_code"] == nil {
			if a["error"] == nil {
				t.Errorf("unanswered attempt without error: %v", a)
			}
			continue
		}
		answered++
		if a["port"] != float64(sippPort) || a["transport"] != "udp" || a["from_srv"] != true || a["response_code"] != 200.0 ||
			a["user_agent"] != "sipp-trunk/3.6" || a["detected_system"] != "SIPp" ||
			fmt.Sprint(a["methods"]) != "[INVITE ACK BYE CANCEL OPTIONS]" || fmt.Sprint(a["codecs"]) != "[PCMU PCMA G722 telephone-event]" ||
			a["response_time_ms"] == nil {
			t.Errorf("answered attempt %v", a)
		}
	}
	if answered != 1 {
		t.Errorf("%d answered attempts, want 1: %v", answered, st["attempts"])
	}
	rec, _ := st["recommended"].(map[string]any)
	if rec["address"] != "127.0.0.1" || rec["port"] != float64(sippPort) || rec["transport"] != "udp" || rec["detected_system"] != "SIPp" ||
		fmt.Sprint(rec["codecs"]) != "[PCMU PCMA G722 telephone-event]" {
		t.Errorf("recommended %v", st["recommended"])
	}
	if st["completed_at"] == nil || st["error"] != nil {
		t.Errorf("completed discovery %v", st)
	}

	// The account may discover again; an unknown host fails, an unknown id is 404.
	if code := n.call(t, "POST", "/v1/sip/discover", map[string]any{"host": "nowhere.example.test", "transport": "udp"}, &out); code != 200 {
		t.Fatalf("discover again: HTTP %d %v", code, out)
	}
	id = out["data"].(map[string]any)["discovery_id"].(string)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n.call(t, "GET", "/v1/sip/discover/status?discovery_id="+id, nil, &out)
		if st = out["data"].(map[string]any); st["status"] != "running" {
			break
		}
	}
	if st["status"] != "failed" || st["error"] == nil || st["recommended"] != nil {
		t.Errorf("discovery of an unknown host: %v", st)
	}
	if code := n.call(t, "GET", "/v1/sip/discover/status?discovery_id=disc_nope", nil, &out); code != 404 {
		t.Errorf("unknown discovery: HTTP %d %v", code, out)
	}
	if code := n.call(t, "GET", "/v1/sip/discover/status", nil, &out); code != 400 {
		t.Errorf("no discovery_id: HTTP %d %v", code, out)
	}
}
