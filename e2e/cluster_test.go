package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// clusterScenario fills e2e/sipp/cluster_call.xml.
type clusterScenario struct {
	HoldMillis     int
	WaitBye, Audio bool
}

// The callers' and the proxy's loopback addresses: the nodes must take the
// callers' from the proxy's X-Wasmvoice-Source (an application's allowlist
// takes public addresses only, so the test counts it on each node's
// metrics; sip's TestProxySource covers the allowlist).
const (
	clusterCallerIP = "127.0.0.9"
	clusterProxyIP  = "127.0.0.4"
)

// startClusterNode starts a node on ip sharing the PostgreSQL database
// dbURL and the recordings bucket with the others, trusting the proxy;
// first, when not nil, is the node whose account and API client it uses.
func startClusterNode(t *testing.T, ip, id, dbURL string, bucket testenv.S3Server, first *server) *server {
	t.Helper()
	s := &server{t: t, domain: "127.0.0.1", host: ip, extra: []string{
		"--database-url", dbURL, "--recording-storage", bucket.URL("cluster"),
		"--node-id", id, "--node-heartbeat", "1s",
		"--sip-trusted-proxies", clusterProxyIP, "--sip-trusted-cidrs", clusterProxyIP,
	}}
	dir := t.TempDir()
	s.logPath, s.data, s.rtp = filepath.Join(dir, "server.log"), filepath.Join(dir, "data"), rtpRange()
	if first == nil {
		s.createCredentials(s.data)
	} else {
		s.account, s.id, s.secret = first.account, first.id, first.secret
	}
	s.boot()
	return s
}

// The multi-node deployment end to end: three nodes on 127.0.0.1,
// .2 and .3 share a PostgreSQL database and an S3-compatible bucket behind
// Kamailio running the shipped examples/cluster/dispatcher.cfg. Calls
// through the proxy land on every node; a token one node signed works on
// another; updateCall on one node hangs up a call another carries; a
// recording made on one node downloads from another; a node killed with
// SIGKILL loses no new calls (the proxy fails over) and its calls are
// reconciled by a survivor.
func TestClusterBehindKamailio(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	bucket := testenv.StartS3(t)
	testenv.LookTool(t, "sipp")
	t.Setenv("AWS_ACCESS_KEY_ID", bucket.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", bucket.SecretKey)

	a := startClusterNode(t, "127.0.0.1", "node-a", dbURL, bucket, nil)
	nodes := []*server{a,
		startClusterNode(t, "127.0.0.2", "node-b", dbURL, bucket, a),
		startClusterNode(t, "127.0.0.3", "node-c", dbURL, bucket, a)}
	byAPI := map[string]*server{}
	// The shipped dispatcher.list with the nodes' addresses for its three.
	tmpl, err := os.ReadFile(filepath.Join("..", "examples", "cluster", "dispatcher.list"))
	if err != nil {
		t.Fatal(err)
	}
	list := string(tmpl)
	for i, n := range nodes {
		byAPI[strings.TrimPrefix(n.api, "http://")] = n
		example := fmt.Sprintf("sip:10.0.0.1%d:5060", i+1)
		if !strings.Contains(list, example) {
			t.Fatalf("examples/cluster/dispatcher.list has no %s", example)
		}
		list = strings.Replace(list, example, "sip:"+n.sip, 1)
	}
	listFile := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(listFile, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := filepath.Abs(filepath.Join("..", "examples", "cluster", "dispatcher.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := runKamailioAt(t, clusterProxyIP, cfg, `DISPATCHER_LIST="`+listFile+`"`, "PROBE_INTERVAL=2", "FR_TIMER=2000")

	// A token node A signed works on node B (the key is in the database).
	b := nodes[1]
	b.token = a.token
	if code := b.call("GET", "/api/v2/accounts/"+a.account+"/calls", nil, nil); code != 200 {
		t.Fatalf("node B with node A's token: HTTP %d", code)
	}

	h := newHook(t, func(path string, body map[string]any) string {
		switch {
		case path == "/hold" && body["eventType"] == "initiate":
			return `<Response><Pause duration="60"/></Response>`
		case path == "/record" && body["eventType"] == "initiate":
			return `<Response><Record maxDuration="2" recordingAvailableUrl="/available"/><Hangup/></Response>`
		}
		return ""
	})
	allow := map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true, "allowedSourceIps": []string{"0.0.0.0/0"}}
	holdApp, holdPw := a.app(map[string]any{"callInitiatedCallbackUrl": h.url("/hold"), "callStatusCallbackUrl": h.url("/status")}, allow)
	recApp, recPw := a.app(map[string]any{"callInitiatedCallbackUrl": h.url("/record"), "callStatusCallbackUrl": h.url("/status")}, allow)
	caller := func(app, pw string, sc clusterScenario, calls int, extra ...string) *sippRun {
		n := fmt.Sprint(calls)
		args := append([]string{"-s", app, "-au", app, "-ap", pw, "-i", clusterCallerIP, "-m", n, "-l", n, "-r", "10", "-timeout", "80s"}, extra...)
		return startSipp(t, "cluster_call.xml", sc, proxy, args...)
	}

	// 1. Calls through the proxy land on all three nodes (the Call-ID's
	// hash picks the node: 30 calls miss one of three with odds of 1 in
	// 50,000).
	if ok, failed := caller(holdApp, holdPw, clusterScenario{HoldMillis: 300}, 30, statsArgs()...).runStats(t, 60*time.Second); ok != 30 || failed != 0 {
		t.Fatalf("calls through Kamailio: %d succeeded, %d failed", ok, failed)
	}
	for _, n := range nodes {
		if got := n.metric("wasmvoice_sip_invites_accepted_total"); got < 1 {
			t.Errorf("no call landed on %s", n.api)
		}
		if got := n.metricWith("wasmvoice_sip_proxy_source_total", `outcome="used"`); got < 1 {
			t.Errorf("%s did not take the callers' address from the proxy", n.api)
		}
	}

	// 2. Nine calls that stay up; the node each is on shows in its callUrl.
	before := len(h.all("initiate"))
	caller(holdApp, holdPw, clusterScenario{WaitBye: true}, 9)
	live := waitInitiates(t, h, before, 9)
	owners := map[*server][]string{}
	for _, ev := range live {
		owners[nodeOf(t, byAPI, ev)] = append(owners[nodeOf(t, byAPI, ev)], ev["callId"].(string))
	}
	// C is the node with the most of them (three at least), A another.
	c := nodes[0]
	for n, ids := range owners {
		if len(ids) > len(owners[c]) {
			c = n
		}
	}
	other := func(not ...*server) *server {
		for _, n := range nodes {
			if !contains(not, n) {
				return n
			}
		}
		return nil
	}
	viaA := other(c)
	cCalls := owners[c]
	sort.Strings(cCalls)
	// 3. updateCall on node A hangs up a call node C carries.
	hung := cCalls[0]
	if code := viaA.call("POST", "/api/v2/accounts/"+a.account+"/calls/"+hung, map[string]any{"state": "completed"}, nil); code != 200 {
		t.Fatalf("updateCall on %s for a call on %s: HTTP %d", viaA.api, c.api, code)
	}
	if ev := waitDisconnect(t, h, hung); ev["cause"] != "hangup" {
		t.Fatalf("the call hung up through another node: %v", ev)
	}
	// Node C answered with its own media address (the call log is in the
	// shared database: node A serves it).
	var answer string
	for deadline := time.Now().Add(15 * time.Second); answer == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		trace, _ := viaA.sipTrace(hung)
		for _, m := range trace {
			if m.Direction == "out" && strings.HasPrefix(m.Message, "SIP/2.0 200") && strings.Contains(m.Message, "INVITE") {
				answer = m.Message
			}
		}
	}
	if !strings.Contains(answer, "c=IN IP4 "+c.ip()+"\r\n") {
		t.Errorf("node %s's answer does not name its media address %s:\n%s", c.api, c.ip(), answer)
	}

	// 4. A recording made on one node downloads from another.
	caller(recApp, recPw, clusterScenario{WaitBye: true, Audio: true}, 1)
	avail := waitEvent(t, h, "recordingAvailable", 30*time.Second)
	recNode := nodeOf(t, byAPI, avail)
	from := other(recNode)
	media := "/api/v2/accounts/" + a.account + "/calls/" + avail["callId"].(string) + "/recordings/" + avail["recordingId"].(string) + "/media"
	req, _ := http.NewRequest("GET", from.api+media, nil)
	req.SetBasicAuth(a.id, a.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || len(wav) < 44+8000 || string(wav[:4]) != "RIFF" {
		t.Fatalf("recording made on %s, downloaded from %s: HTTP %d, %d bytes", recNode.api, from.api, resp.StatusCode, len(wav))
	}

	// 5. Node C dies (kill -9) with calls up. New calls keep connecting at
	// once: an INVITE the proxy sends to C times out and goes to the next
	// node, and the pings take C out of the set. Twelve calls, placed
	// before any ping can have noticed, send at least one INVITE to C with
	// odds of 99.2% (the hash picks C for each with odds of 1 in 3).
	c.kill9()
	if ok, failed := caller(holdApp, holdPw, clusterScenario{HoldMillis: 300}, 12, statsArgs()...).runStats(t, 60*time.Second); ok != 12 || failed != 0 {
		t.Fatalf("calls after node %s died: %d succeeded, %d failed", c.api, ok, failed)
	}
	// C's calls are reconciled by a survivor: ended with cause error, "node
	// lost", and their disconnect callbacks sent.
	for _, id := range cCalls[1:] {
		ev := waitDisconnect(t, h, id)
		if ev["cause"] != "error" || !strings.Contains(fmt.Sprint(ev["errorMessage"]), "node lost") {
			t.Errorf("call %s of the dead node: %v", id, ev)
		}
		var st struct{ State, DisconnectCause, ErrorMessage string }
		if code := viaA.call("GET", "/api/v2/accounts/"+a.account+"/calls/"+id, nil, &st); code != 200 || st.State != "disconnected" || st.DisconnectCause != "error" {
			t.Errorf("record of call %s of the dead node: HTTP %d %+v", id, code, st)
		}
	}
	// The survivors' calls end now, not at shutdown.
	for n, ids := range owners {
		if n == c {
			continue
		}
		for _, id := range ids {
			n.call("POST", "/api/v2/accounts/"+a.account+"/calls/"+id, map[string]any{"state": "completed"}, nil)
		}
	}
}

func contains(list []*server, s *server) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nodeOf is the node a callback came from, by the API address in its
// callUrl (each node's own: no --public-url is set).
func nodeOf(t *testing.T, byAPI map[string]*server, ev map[string]any) *server {
	t.Helper()
	u, err := url.Parse(fmt.Sprint(ev["callUrl"]))
	if err != nil || byAPI[u.Host] == nil {
		t.Fatalf("callback from no known node: callUrl %v", ev["callUrl"])
	}
	return byAPI[u.Host]
}

// waitEvent polls for the first callback of eventType.
func waitEvent(t *testing.T, h *hook, eventType string, timeout time.Duration) map[string]any {
	t.Helper()
	ev, ok := h.wait(eventType, timeout)
	if !ok {
		t.Fatalf("no %s callback within %s (got %v)", eventType, timeout, h.types())
	}
	return ev
}

// waitInitiates waits until n initiate callbacks came after the first
// `before`, and returns them.
func waitInitiates(t *testing.T, h *hook, before, n int) []map[string]any {
	t.Helper()
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		all := h.all("initiate")
		if len(all) >= before+n {
			return all[before : before+n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls initiated", len(all)-before, n)
		}
	}
}

// waitDisconnect waits for the disconnect callback of callID.
func waitDisconnect(t *testing.T, h *hook, callID string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, ev := range h.all("disconnect") {
			if ev["callId"] == callID {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no disconnect callback for %s", callID)
		}
	}
}
