package server

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// rtpSink is the media side of a REFER's target: it counts the RTP packets
// it receives and echoes them, so the server's leg sees its peer alive.
type rtpSink struct {
	conn    net.PacketConn
	packets atomic.Int64
}

func newRTPSink(t *testing.T) *rtpSink {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSink{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 {
				s.packets.Add(1)
				conn.WriteTo(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *rtpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// referApp is an application whose webhook is h (referHook).
func referApp(t *testing.T, n *node, h *hook) (appID, pw string) {
	t.Helper()
	return n.app(t, map[string]any{
		"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status"),
		"inboundSipCallsEnabled": true, "passwordAuthEnabled": true,
	})
}

// referHook answers every call with a <Transfer> to the agent at agentURI;
// transferComplete hangs the caller up.
func referHook(t *testing.T, agentURI string) *hook {
	return newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Transfer transferCompleteUrl="/transferComplete"><SipUri>` + agentURI + `</SipUri></Transfer></Response>`
		case "/transferComplete":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
}

// A blind transfer by REFER: the caller (sipp) is transferred by the
// application to an agent (sipp), whose REFER moves the caller to a third
// endpoint: 202, NOTIFY 100 Trying then 200 OK (the agent's scenario checks
// them), the agent is hung up, the caller's audio reaches the new target,
// and the application gets referComplete; when the target hangs up, the
// <Transfer> completes as usual.
func TestReferBlindTransfer(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	sink := newRTPSink(t)
	agentPort, targetPort := testenv.FreeUDPPort(t), testenv.FreeUDPPort(t)
	agentURI := fmt.Sprintf("sip:agent@127.0.0.1:%d", agentPort)
	targetURI := fmt.Sprintf("sip:carol@127.0.0.1:%d", targetPort)
	h := referHook(t, agentURI)
	appID, pw := referApp(t, n, h)

	target := startSipp(t, "uas_refer_target.xml", "-p", strconv.Itoa(targetPort), "-set", "rtpport", strconv.Itoa(sink.port()))
	agent := startSipp(t, "uas_refer_agent.xml", "-p", strconv.Itoa(agentPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)),
		"-set", "referto", targetURI)
	caller := startSipp(t, "uac_refer_caller.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	agent.wait(t, 30*time.Second)
	target.wait(t, 40*time.Second)
	caller.wait(t, 40*time.Second)

	if got := sink.packets.Load(); got < 50 {
		t.Errorf("the target received %d RTP packets of the caller's audio, want the stream", got)
	}
	initiate := h.wait("initiate", 5*time.Second)
	callID := initiate.Body["callId"].(string)
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Path != "/status" || rc.Body["referDirection"] != "received" || rc.Body["referTo"] != targetURI ||
		rc.Body["transfereeCallId"] != callID || rc.Body["sipStatus"] != float64(200) || rc.Body["transferCallId"] == nil ||
		rc.Body["parentCallId"] != callID {
		t.Errorf("referComplete: %s %v", rc.Path, rc.Body)
	}
	complete := h.wait("transferComplete", 10*time.Second)
	if complete.Body["callId"] != callID || complete.Body["transferTo"] != targetURI {
		t.Errorf("transferComplete: %v", complete.Body)
	}
	disc := h.wait("disconnect", 10*time.Second)
	if disc.Body["callId"] != callID {
		t.Errorf("disconnect: %v", disc.Body)
	}
}

// A REFER to a target the application does not allow (a host that is not
// the referrer's, no route of the account) is refused with 403, and the
// call goes on with the agent.
func TestReferRefusedTarget(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	agentPort := testenv.FreeUDPPort(t)
	agentURI := fmt.Sprintf("sip:agent@127.0.0.1:%d", agentPort)
	h := referHook(t, agentURI)
	appID, pw := referApp(t, n, h)
	agent := startSipp(t, "uas_refer_refused.xml", "-p", strconv.Itoa(agentPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)),
		"-set", "referto", "sip:premium@192.0.2.10")
	caller := startSipp(t, "uac_refer_caller.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	agent.wait(t, 30*time.Second)
	caller.wait(t, 40*time.Second)
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Body["sipStatus"] != float64(403) || rc.Body["cause"] != "rejected" || rc.Body["referTo"] != "sip:premium@192.0.2.10" {
		t.Errorf("referComplete: %v", rc.Body)
	}
	// The agent hung up after the refusal: the transfer completed normally.
	if complete := h.wait("transferComplete", 10*time.Second); complete.Body["transferTo"] != agentURI {
		t.Errorf("transferComplete: %v", complete.Body)
	}
}

// sipAgent is an agent's phone built on sipgo: it answers every INVITE
// (PCMA on rtpPort), records the NOTIFYs it gets, and sends REFER in one
// of its dialogs, as a desk phone does for an attended transfer.
type sipAgent struct {
	port     int
	sessions chan *sipgo.DialogServerSession
	notifies chan *sipmsg.Request
	byes     chan string // Call-IDs
}

func startSIPAgent(t *testing.T, rtpPort int) *sipAgent {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("agent-phone"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	// Bound here, served below: the port is ours before anyone is told it.
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &sipAgent{port: conn.LocalAddr().(*net.UDPAddr).Port, sessions: make(chan *sipgo.DialogServerSession, 4),
		notifies: make(chan *sipmsg.Request, 8), byes: make(chan string, 4)}
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.1", Port: a.port}}
	dc := sipgo.NewDialogServerCache(cli, contact)
	sdp := fmt.Sprintf("v=0\r\no=agent 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n", rtpPort)
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		s, err := dc.ReadInvite(req, tx)
		if err != nil {
			t.Errorf("agent: %v", err)
			return
		}
		// Within the handler: sipgo ends the INVITE transaction when it
		// returns.
		if err := s.RespondSDP([]byte(sdp)); err != nil {
			t.Errorf("agent answer: %v", err)
			return
		}
		a.sessions <- s
	})
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { dc.ReadAck(req, tx) })
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if err := dc.ReadBye(req, tx); err == nil {
			a.byes <- req.CallID().Value()
		}
	})
	srv.OnNotify(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		a.notifies <- req
		tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeUDP(conn) }()
	t.Cleanup(func() { conn.Close(); <-done; ua.Close() })
	return a
}

func (a *sipAgent) uri() string { return fmt.Sprintf("sip:agent@127.0.0.1:%d", a.port) }

func (a *sipAgent) session(t *testing.T) *sipgo.DialogServerSession {
	t.Helper()
	select {
	case s := <-a.sessions:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("the agent got no call")
		return nil
	}
}

func (a *sipAgent) notify(t *testing.T) string {
	t.Helper()
	select {
	case n := <-a.notifies:
		return string(n.Body())
	case <-time.After(20 * time.Second):
		t.Fatal("no NOTIFY")
		return ""
	}
}

// An attended transfer: two callers are each transferred to the agent; the
// agent's REFER on the first call's dialog carries Replaces naming the
// second's, and the server bridges the two callers (the first caller's
// audio reaches the second), answers 202, NOTIFYs 100 then 200, and hangs
// up both of the agent's legs.
func TestReferAttendedTransfer(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	sink := newRTPSink(t)
	agent := startSIPAgent(t, testenv.FreeUDPPorts(t, 2))
	h := referHook(t, agent.uri())
	appID, pw := referApp(t, n, h)

	first := startSipp(t, "uac_refer_caller.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	second := startSipp(t, "uac_refer_caller_sink.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-set", "rtpport", strconv.Itoa(sink.port()))
	var s1, s2 *sipgo.DialogServerSession
	for range 2 {
		s := agent.session(t)
		if strings.Contains(s.InviteRequest.From().Address.User, "2222") {
			s2 = s
		} else {
			s1 = s
		}
	}
	if s1 == nil || s2 == nil {
		t.Fatal("the agent did not get one call from each caller")
	}
	toTag, _ := s2.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s2.InviteRequest.From().Params.Get("tag")
	replaces := url.QueryEscape(s2.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	newRefer := func() *sipmsg.Request { // a new transaction each time
		refer := sipmsg.NewRequest(sipmsg.REFER, s1.InviteRequest.Contact().Address)
		refer.AppendHeader(sipmsg.NewHeader("Refer-To", "<sip:caller@127.0.0.1?Replaces="+replaces+">"))
		refer.AppendHeader(sipmsg.NewHeader("Referred-By", "<"+agent.uri()+">"))
		return refer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The server takes a REFER on a transfer leg once it has bridged it,
	// just after the agent's 200: until then the leg declines (603, which
	// nothing reports to the application), so the agent tries again.
	var res *sipmsg.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err = s1.Do(ctx, newRefer())
		if err != nil || res.StatusCode != 603 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	if body := agent.notify(t); !strings.HasPrefix(body, "SIP/2.0 100 Trying") {
		t.Errorf("first NOTIFY: %q", body)
	}
	if body := agent.notify(t); !strings.HasPrefix(body, "SIP/2.0 200 OK") {
		t.Errorf("final NOTIFY: %q", body)
	}
	hungUp := map[string]bool{}
	for range 2 {
		select {
		case id := <-agent.byes:
			hungUp[id] = true
		case <-time.After(10 * time.Second):
			t.Fatal("the agent's legs were not hung up")
		}
	}
	if !hungUp[s1.InviteRequest.CallID().Value()] || !hungUp[s2.InviteRequest.CallID().Value()] {
		t.Errorf("hung up: %v", hungUp)
	}
	second.wait(t, 40*time.Second)
	first.wait(t, 40*time.Second)
	if got := sink.packets.Load(); got < 50 {
		t.Errorf("the second caller received %d RTP packets of the first caller's audio", got)
	}
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Body["sipStatus"] != float64(200) || rc.Body["replacesCallId"] != s2.InviteRequest.CallID().Value() || rc.Body["transferCallId"] == nil {
		t.Errorf("referComplete: %v", rc.Body)
	}
}

// <Refer> sends REFER to the caller, with the application's X- header and
// User-to-User: the caller (sipp) accepts it with 202 and reports the
// transfer by NOTIFY (100 Trying, then 200 OK); the server then hangs up
// and referComplete reports the success.
func TestReferVerbSendsRefer(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Refer referCompleteUrl="/referComplete"><SipUri uui="3132;encoding=hex">sip:carol@example.com</SipUri>` +
				`<SipHeader name="X-Ticket" value="T-9"/></Refer><SpeakSentence>not reached</SpeakSentence></Response>`
		}
		return ""
	})
	appID, pw := referApp(t, n, h)
	caller := startSipp(t, "uac_refer_receiver.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	caller.wait(t, 30*time.Second)
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Path != "/referComplete" || rc.Body["referDirection"] != "sent" || rc.Body["referTo"] != "sip:carol@example.com" ||
		rc.Body["sipStatus"] != float64(200) {
		t.Errorf("referComplete: %s %v", rc.Path, rc.Body)
	}
	if disc := h.wait("disconnect", 10*time.Second); disc.Body["cause"] != "hangup" {
		t.Errorf("disconnect: %v", disc.Body)
	}
}

// The application's sip.refer hook decides on a REFER the server's own
// rules would refuse (a host that is not the referrer's): the module
// rewrites the target to the one in its key-value store, and the caller
// ends up with that target.
func TestReferModuleRewritesTarget(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/referpolicy")
	sink := newRTPSink(t)
	agentPort, targetPort := testenv.FreeUDPPort(t), testenv.FreeUDPPort(t)
	agentURI := fmt.Sprintf("sip:agent@127.0.0.1:%d", agentPort)
	targetURI := fmt.Sprintf("sip:carol@127.0.0.1:%d", targetPort)
	h := referHook(t, agentURI)
	appID, pw := n.app(t, map[string]any{
		"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status"),
		"inboundSipCallsEnabled": true, "passwordAuthEnabled": true, "moduleId": mod, "moduleEvents": []string{"sip.refer"},
	})
	n.kvSet(t, appID, "target", targetURI)

	target := startSipp(t, "uas_refer_target.xml", "-p", strconv.Itoa(targetPort), "-set", "rtpport", strconv.Itoa(sink.port()))
	agent := startSipp(t, "uas_refer_agent.xml", "-p", strconv.Itoa(agentPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)),
		"-set", "referto", "sip:vip@192.0.2.20")
	caller := startSipp(t, "uac_refer_caller.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	agent.wait(t, 30*time.Second)
	target.wait(t, 40*time.Second)
	caller.wait(t, 40*time.Second)
	if got := sink.packets.Load(); got < 50 {
		t.Errorf("the rewritten target received %d RTP packets", got)
	}
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Body["referTo"] != targetURI || rc.Body["sipStatus"] != float64(200) {
		t.Errorf("referComplete: %v", rc.Body)
	}

	// A REFER the hook refuses, although the server's rules would allow it
	// (the referrer's own host), gets the hook's status.
	agent = startSipp(t, "uas_refer_refused_488.xml", "-p", strconv.Itoa(agentPort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)),
		"-set", "referto", "sip:someone@127.0.0.1")
	caller = startSipp(t, "uac_refer_caller.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	agent.wait(t, 30*time.Second)
	caller.wait(t, 40*time.Second)
	if !h.seen("referComplete", 5*time.Second, func(b map[string]any) bool {
		return b["sipStatus"] == float64(488) && b["cause"] == "rejected" && b["referTo"] == "sip:someone@127.0.0.1"
	}) {
		t.Errorf("no referComplete for the refused REFER; got %v", h.types())
	}
}

// A <Refer> whose transfer fails (the peer's final NOTIFY says 486) leaves
// the call up: referComplete carries the status and its BXML runs.
func TestReferVerbTransferFails(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Refer referCompleteUrl="/referComplete"><SipUri uui="3132;encoding=hex">sip:carol@example.com</SipUri>` +
				`<SipHeader name="X-Ticket" value="T-9"/></Refer></Response>`
		case "/referComplete":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	appID, pw := referApp(t, n, h)
	caller := startSipp(t, "uac_refer_receiver_busy.xml", n.sip, "-s", appID, "-au", appID, "-ap", pw,
		"-p", strconv.Itoa(testenv.FreeUDPPort(t)), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	caller.wait(t, 30*time.Second)
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Body["referDirection"] != "sent" || rc.Body["sipStatus"] != float64(486) || rc.Body["cause"] != "busy" {
		t.Errorf("referComplete: %v", rc.Body)
	}
}

// <Refer> on an outbound call (createCall): the callee, a sipp UAS, accepts
// the REFER with 202 and NOTIFYs 100 then 200; the server hangs up.
func TestReferVerbOnOutboundCall(t *testing.T) {
	testenv.LookTool(t, "sipp")
	n := startNode(t)
	calleePort := testenv.FreeUDPPort(t)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/answer" {
			return `<Response><Refer referCompleteUrl="/referComplete"><SipUri>sip:carol@example.com</SipUri>` +
				`<SipHeader name="X-Ticket" value="T-9"/></Refer></Response>`
		}
		return ""
	})
	appID, _ := n.app(t, map[string]any{})
	callee := startSipp(t, "uas_refer_receiver.xml", "-p", strconv.Itoa(calleePort), "-mp", strconv.Itoa(testenv.FreeUDPPorts(t, 2)))
	var created struct {
		CallID string `json:"callId"`
	}
	if code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550003333", "to": fmt.Sprintf("sip:bob@127.0.0.1:%d", calleePort), "applicationId": appID,
		"answerUrl": h.url("/answer"), "disconnectUrl": h.url("/disconnect"),
	}, &created); code != 201 {
		t.Fatalf("createCall: %d", code)
	}
	callee.wait(t, 30*time.Second)
	rc := h.wait("referComplete", 5*time.Second)
	if rc.Body["callId"] != created.CallID || rc.Body["direction"] != "outbound" || rc.Body["sipStatus"] != float64(200) {
		t.Errorf("referComplete: %v", rc.Body)
	}
	if disc := h.wait("disconnect", 10*time.Second); disc.Body["callId"] != created.CallID {
		t.Errorf("disconnect: %v", disc.Body)
	}
}

// seen reports whether a callback of eventType whose body satisfies ok
// arrived, waiting up to timeout.
func (h *hook) seen(eventType string, timeout time.Duration, ok func(map[string]any) bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Type == eventType && ok(ev.Body) {
				h.mu.Unlock()
				return true
			}
		}
		h.mu.Unlock()
	}
	return false
}
