package server

import (
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

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
