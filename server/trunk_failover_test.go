package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/sip"
)

// trunkPeer is a provider's SIP server for failover tests: our own
// sip.Server on a UDP address that answers OPTIONS and answers every
// INVITE (reporting its Request-URI), and that the test stops and starts
// again on the same address.
type trunkPeer struct {
	t       *testing.T
	name    string
	addr    string // host:port, fixed once first bound
	rtp     *net.UDPConn
	invites chan peerInvite
	stopFn  func()
	// refuse, when set, is the status every INVITE is refused with.
	refuse atomic.Int32
}

type peerInvite struct{ uri, sdp string }

func newTrunkPeer(t *testing.T, name string) *trunkPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &trunkPeer{t: t, name: name, rtp: conn, invites: make(chan peerInvite, 16), addr: "127.0.0.1:0"}
	t.Cleanup(func() {
		p.stop()
		conn.Close()
	})
	p.start()
	return p
}

func (p *trunkPeer) start() {
	t := p.t
	t.Helper()
	h := sip.HandlerFunc(func(ctx context.Context, c *sip.InboundCall) {
		select {
		case p.invites <- peerInvite{c.Request.Recipient.String(), string(c.Request.Body())}:
		default:
		}
		if st := p.refuse.Load(); st != 0 {
			c.Reject(int(st), "Refused by test")
			return
		}
		port := p.rtp.LocalAddr().(*net.UDPAddr).Port
		sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n", port)
		if err := c.Answer(ctx, []byte(sdp)); err != nil {
			t.Errorf("peer %s answer: %v", p.name, err)
			return
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	})
	srv, err := sip.NewServer(sip.Config{Domain: p.name + ".test", Region: "US", AdvertisedHost: "127.0.0.1",
		NonceKey: []byte("peer-key-peer-key-peer-key-peer0"), Logger: testLogger(t)}, anyApp{}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ListenAndServe(ctx, "udp", p.addr)
	}()
	for deadline := time.Now().Add(5 * time.Second); len(srv.Listeners()) == 0; {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("peer %s did not listen on %s", p.name, p.addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.addr = srv.Listeners()[0].Addr
	p.stopFn = func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		scancel()
		cancel()
		<-done
	}
}

// stop closes the peer's SIP socket: nothing answers on its address.
func (p *trunkPeer) stop() {
	if p.stopFn != nil {
		p.stopFn()
		p.stopFn = nil
	}
}

func (p *trunkPeer) uri() string { return "sip:" + p.addr }

// expectInvite waits for the peer's next INVITE.
func (p *trunkPeer) expectInvite(t *testing.T) peerInvite {
	t.Helper()
	select {
	case i := <-p.invites:
		return i
	case <-time.After(40 * time.Second):
		t.Fatalf("peer %s got no INVITE", p.name)
		return peerInvite{}
	}
}

// noInvite checks the peer got no INVITE so far.
func (p *trunkPeer) noInvite(t *testing.T) {
	t.Helper()
	select {
	case i := <-p.invites:
		t.Errorf("peer %s got an INVITE to %s", p.name, i.uri)
	default:
	}
}

// testCall places a test call to number and waits for its outcome.
func (n *node) testCall(t *testing.T, number string) testCallStatus {
	t.Helper()
	var started struct {
		Data struct {
			CallID string `json:"call_id"`
		} `json:"data"`
	}
	if code := n.call(t, "POST", "/v1/sip/test-call", map[string]any{"phone_number": number}, &started); code != 200 {
		t.Fatalf("test-call: %d", code)
	}
	return waitTestCall(t, n, started.Data.CallID)
}

// Outbound calls fail over: with the primary stopped, a call's INVITE to it
// gets no response within timeout_seconds and the call goes to the
// secondary; once the probes find the primary unreachable, calls go to the
// secondary at once, and the unreachable alert fires (webhook); when the
// primary answers probes again the alert clears and (failback auto) calls
// return to it. With failback manual, calls stay on the secondary after the
// primary is back, until the configuration is PATCHed again.
func TestTrunkFailover(t *testing.T) {
	n := startNode(t)
	hook := newWebhookRecorder(t)
	primary, secondary := newTrunkPeer(t, "primary"), newTrunkPeer(t, "secondary")
	const num = "+14155550100"
	n.attachSIP(t, map[string]any{"phone_number": num,
		"directions": []any{map[string]any{"type": "outbound", "sip_endpoint": primary.uri()}}})

	// Mistakes name the field.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"phone_number": num, "failover": map[string]any{"secondary": secondary.uri(), "failback": "sometimes"}}, "body.failover.failback"},
		{map[string]any{"phone_number": num, "failover": map[string]any{"secondary": secondary.uri(), "triggers": []string{"busy"}}}, "body.failover.triggers[0]"},
		{map[string]any{"phone_number": num, "failover": map[string]any{"tertiary": "sip:x.example.com"}}, "body.failover.secondary"},
		{map[string]any{"phone_number": num, "codecs": map[string]any{"codecs": []any{map[string]any{"name": "speex", "enabled": true}}}}, "body.codecs.codecs[0].name"},
		{map[string]any{"phone_number": num, "alerts": map[string]any{"failure_rate_percent": 120}}, "body.alerts.failure_rate_percent"},
		{map[string]any{"failover": map[string]any{"secondary": secondary.uri()}}, "body.phone_number"},
		{map[string]any{"phone_number": num, "fallover": map[string]any{}}, "body.fallover"},
	} {
		if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", tc.body); code != 400 || !strings.Contains(string(b), `"`+tc.field+`"`) {
			t.Errorf("%v: %d %s, want 400 naming %s", tc.body, code, b, tc.field)
		}
	}
	if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": "+14155550999",
		"failover": map[string]any{"secondary": secondary.uri()}}); code != 404 {
		t.Errorf("unattached number: %d %s", code, b)
	}

	code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num,
		"failover": map[string]any{"secondary": secondary.uri(), "triggers": []string{"unreachable", "timeout"}, "timeout_seconds": 2},
		"codecs":   map[string]any{"codecs": []any{map[string]any{"name": "PCMA", "enabled": true}, map[string]any{"name": "PCMU", "enabled": true}}},
		"alerts":   map[string]any{"webhook_url": hook.srv.URL, "unreachable_seconds": 1}})
	if code != 200 || !strings.Contains(string(b), `"failback":"auto"`) || !strings.Contains(string(b), `"timeout_seconds":2`) {
		t.Fatalf("patch config: %d %s", code, b)
	}
	var got struct {
		Data struct {
			Config struct {
				Failover struct {
					Secondary string `json:"secondary"`
				} `json:"failover"`
			} `json:"config"`
		} `json:"data"`
	}
	if code := n.call(t, "GET", "/v1/sip?phone_number=%2B14155550100", nil, &got); code != 200 || got.Data.Config.Failover.Secondary != secondary.uri() {
		t.Errorf("GET /v1/sip config: %d %+v", code, got.Data)
	}

	// Both up: the primary takes the call.
	if st := n.testCall(t, num); st.Result != "success" {
		t.Errorf("call via primary: %+v", st)
	}
	// The offer lists the trunk's codecs in its order (PCMA first), then
	// the codecs it does not name in the node's order.
	if inv := primary.expectInvite(t); !strings.Contains(inv.uri, num) || !strings.Contains(inv.sdp, "RTP/AVP 8 0 ") {
		t.Errorf("primary's INVITE to %s with offer %q", inv.uri, inv.sdp)
	}
	secondary.noInvite(t)

	// Primary down, probes not run yet: the INVITE times out, the call
	// goes to the secondary.
	primary.stop()
	if st := n.testCall(t, num); st.Result != "success" {
		t.Errorf("call after the primary stopped: %+v", st)
	}
	secondary.expectInvite(t)

	// Probes find it unreachable; down for a second (the second sweep's
	// probe alone takes the 5 s probe timeout), the alert fires.
	ctx := t.Context()
	n.srv.health.Sweep(ctx)
	n.srv.health.Sweep(ctx)
	ev := hook.next(t)
	if ev["event"] != "trunk.alert" || ev["alert_type"] != "unreachable" || ev["state"] != "fired" || ev["phone_number"] != num ||
		ev["endpoint"] != primary.uri() || ev["threshold"] != 1.0 {
		t.Errorf("alert fired: %v", ev)
	}
	if st := n.testCall(t, num); st.Result != "success" {
		t.Errorf("call while the primary is unreachable: %+v", st)
	}
	secondary.expectInvite(t)

	// Primary back: the alert clears, calls return to it.
	primary.start()
	n.srv.health.Sweep(ctx)
	if ev := hook.next(t); ev["alert_type"] != "unreachable" || ev["state"] != "cleared" || ev["endpoint"] != primary.uri() {
		t.Errorf("alert cleared: %v", ev)
	}
	if st := n.testCall(t, num); st.Result != "success" {
		t.Errorf("call after failback: %+v", st)
	}
	primary.expectInvite(t)
	secondary.noInvite(t)

	// Manual failback: once on the secondary, calls stay there.
	code, b = n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num,
		"failover": map[string]any{"secondary": secondary.uri(), "triggers": []string{"unreachable", "timeout"}, "timeout_seconds": 2, "failback": "manual"}})
	if code != 200 {
		t.Fatalf("patch manual: %d %s", code, b)
	}
	primary.stop()
	n.testCall(t, num)
	secondary.expectInvite(t)
	primary.start()
	n.srv.health.Sweep(ctx)
	n.testCall(t, num)
	secondary.expectInvite(t)
	primary.noInvite(t)
	if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num,
		"failover": map[string]any{"secondary": secondary.uri(), "failback": "manual"}}); code != 200 {
		t.Fatalf("patch again: %d %s", code, b)
	}
	n.testCall(t, num)
	primary.expectInvite(t)
}

// A primary that answers 503 (or refuses the credentials with 403) is a
// trunk failure: the call goes on to the secondary. A 486 is the callee's
// answer: the call ends there, the secondary never sees it.
func TestTrunkFailoverOnResponse(t *testing.T) {
	n := startNode(t)
	primary, secondary := newTrunkPeer(t, "primary"), newTrunkPeer(t, "secondary")
	const num = "+14155550101"
	n.attachSIP(t, map[string]any{"phone_number": num,
		"directions": []any{map[string]any{"type": "outbound", "sip_endpoint": primary.uri()}}})
	if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num,
		"failover": map[string]any{"secondary": secondary.uri()}}); code != 200 || !strings.Contains(string(b), `"triggers":["unreachable","auth_failure","timeout"]`) {
		t.Fatalf("patch config: %d %s", code, b)
	}
	for _, status := range []int32{503, 403} {
		primary.refuse.Store(status)
		if st := n.testCall(t, num); st.Result != "success" {
			t.Errorf("after a %d: %+v", status, st)
		}
		primary.expectInvite(t)
		secondary.expectInvite(t)
	}
	primary.refuse.Store(486)
	if st := n.testCall(t, num); st.Result != "failure" || st.SIPCode == nil || *st.SIPCode != 486 {
		t.Errorf("after a 486: %+v", st)
	}
	primary.expectInvite(t)
	secondary.noInvite(t)
}
