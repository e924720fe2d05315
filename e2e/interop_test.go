package e2e

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawUAS is a SIP user agent on a bare UDP socket: it reads requests and
// answers them, and tells where each came from.
type rawUAS struct {
	t    *testing.T
	conn *net.UDPConn
}

func newRawUAS(t *testing.T) *rawUAS {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUAS{t: t, conn: c}
}

func (u *rawUAS) addr() string { return u.conn.LocalAddr().String() }

// read returns the next request of method (retransmissions and other
// methods skipped) and its source address.
func (u *rawUAS) read(method string, timeout time.Duration) (string, *net.UDPAddr) {
	u.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(timeout)
	for {
		_ = u.conn.SetReadDeadline(deadline)
		n, src, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("waiting for %s: %v", method, err)
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, method+" ") {
			return msg, src
		}
	}
}

// respond answers req (read from src) with a status and no body.
func (u *rawUAS) respond(req string, src *net.UDPAddr, status string) {
	u.t.Helper()
	u.respondBody(req, src, status, "", "")
}

// respondBody answers req with a status, extra header lines (each ending
// in CRLF) and a body.
func (u *rawUAS) respondBody(req string, src *net.UDPAddr, status, headers, body string) {
	u.t.Helper()
	var b strings.Builder
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for _, line := range strings.Split(req, "\r\n") {
		switch name, _, _ := strings.Cut(line, ":"); strings.ToLower(strings.TrimSpace(name)) {
		case "via", "from", "call-id", "cseq", "v", "f", "i":
			b.WriteString(line + "\r\n")
		case "to", "t":
			b.WriteString(line + ";tag=rawuas\r\n")
		}
	}
	b.WriteString(headers)
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	if _, err := u.conn.WriteToUDP([]byte(b.String()), src); err != nil {
		u.t.Fatal(err)
	}
}

// Outbound INVITEs, from createCall and from <Transfer>, leave from the
// node's SIP port (--sip-addr) over UDP, the port their Via names.
func TestOutboundLeavesFromTheSIPPort(t *testing.T) {
	s := startServer(t)
	uas := newRawUAS(t)
	h := newHook(t, func(path string, _ map[string]any) string {
		if path == "/initiate" {
			return `<Response><Transfer><SipUri>sip:transfer@` + uas.addr() + `</SipUri></Transfer></Response>`
		}
		return `<Response><Hangup/></Response>`
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	check := func(what, msg string, src *net.UDPAddr) {
		t.Helper()
		if src.String() != s.sip {
			t.Errorf("%s INVITE came from %s, not the SIP port %s", what, src, s.sip)
		}
		if !strings.Contains(msg, "Via: SIP/2.0/UDP "+s.sip+";") {
			t.Errorf("%s INVITE's Via does not name %s:\n%s", what, s.sip, msg)
		}
	}

	var created map[string]any
	body := map[string]any{"from": "+15550001111", "to": "sip:callee@" + uas.addr(), "applicationId": appID, "answerUrl": h.url("/answer")}
	if code := s.call("POST", "/api/v2/accounts/"+s.account+"/calls", body, &created); code != 201 {
		t.Fatalf("createCall: %d %v", code, created)
	}
	msg, src := uas.read("INVITE", 10*time.Second)
	check("createCall", msg, src)
	uas.respond(msg, src, "486 Busy Here")

	startSipp(t, "short_call.xml", scenario{HoldMillis: 3000}, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	msg, src = uas.read("INVITE", 20*time.Second)
	check("Transfer", msg, src)
	uas.respond(msg, src, "486 Busy Here")
}
