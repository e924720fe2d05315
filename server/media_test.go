package server

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// arrival is an RTP packet a phone received, with when.
type arrival struct {
	at time.Time
	rtp.Header
}

const maxArrivals = 20000

// received returns the RTP packets the phone received so far.
func (p *phone) received() []arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]arrival(nil), p.arrivals...)
}

// listenRTCP gives the phone an RTCP socket, named in its SDP with a=rtcp.
func (p *phone) listenRTCP(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p.rtcp = c
}

// senderReports reads the phone's RTCP socket until want sender reports
// arrived or timeout passed.
func (p *phone) senderReports(want int, timeout time.Duration) ([]*rtcp.SenderReport, error) {
	var out []*rtcp.SenderReport
	buf := make([]byte, 1500)
	deadline := time.Now().Add(timeout)
	for len(out) < want {
		_ = p.rtcp.SetReadDeadline(deadline)
		n, err := p.rtcp.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			return out, err
		}
		for _, pk := range pkts {
			if sr, ok := pk.(*rtcp.SenderReport); ok {
				out = append(out, sr)
			}
		}
	}
	return out, nil
}

// continuous checks that got is one stream with no frame missing (one
// SSRC, sequence +1 and timestamp +160 each packet) and returns the
// largest gap between arrivals.
func continuous(t *testing.T, got []arrival) time.Duration {
	t.Helper()
	var maxGap time.Duration
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if b.SSRC != got[0].SSRC || b.SequenceNumber != a.SequenceNumber+1 || b.Timestamp != a.Timestamp+160 {
			t.Fatalf("packet %d: SSRC %08x seq %d ts %d after SSRC %08x seq %d ts %d", i, b.SSRC, b.SequenceNumber, b.Timestamp, a.SSRC, a.SequenceNumber, a.Timestamp)
		}
		maxGap = max(maxGap, b.at.Sub(a.at))
	}
	return maxGap
}

// While a Gather waits for a digit, nothing plays, and the caller still
// gets a packet every 20 ms (one stream: no sequence gap, timestamps 160
// apart) and RTCP sender reports that describe what it sent. A peer with an
// RTP timeout would otherwise hang up (issue 13 saw a 2.9 s gap).
func TestGatherKeepsRTPAndRTCPFlowing(t *testing.T) {
	n := startNode(t, func(c *Config) { c.RTCPInterval = 300 * time.Millisecond })
	caller := newPhone(t, 'Q', false)
	caller.listenRTCP(t)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Gather gatherUrl="/gather" maxDigits="1" firstDigitTimeout="3"/></Response>`
		case "/gather":
			return `<Response><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	defer out.Hangup(context.Background())
	// The caller talks a little, so the reports carry a reception block.
	for range 10 {
		caller.send(0, false, make([]byte, 160), 160)
		time.Sleep(20 * time.Millisecond)
	}
	ev := h.wait("gather", 15*time.Second)
	if d, _ := ev.Body["digits"].(string); d != "" {
		t.Fatalf("gather got digits: %v", ev.Body)
	}
	waitDone(t, out.Done(), "the server's BYE")

	got := caller.received()
	if len(got) < 2 {
		t.Fatalf("%d RTP packets during a 3 s Gather", len(got))
	}
	span := got[len(got)-1].at.Sub(got[0].at)
	// Loose bounds, on purpose: the stream must not stop (the bug was a
	// gap of seconds), and the count must match the time it covered.
	if want := int(span / (20 * time.Millisecond)); len(got) < want/2 {
		t.Errorf("%d packets over %v, want about %d", len(got), span, want)
	}
	maxGap := continuous(t, got)
	// The bug left seconds of silence; a loaded machine's stall of a few
	// hundred milliseconds is not one.
	if maxGap > 1500*time.Millisecond {
		t.Errorf("a %v gap in the stream", maxGap)
	}
	t.Logf("%d packets over %v, largest gap %v", len(got), span.Round(time.Millisecond), maxGap.Round(time.Millisecond))

	reports, err := caller.senderReports(100, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 {
		t.Fatal("no RTCP sender report during the call")
	}
	last := reports[len(reports)-1]
	if last.SSRC != got[0].SSRC || last.PacketCount == 0 {
		t.Errorf("sender report SSRC %08x with %d packets; the stream's SSRC is %08x", last.SSRC, last.PacketCount, got[0].SSRC)
	}
	if len(last.Reports) != 1 || last.Reports[0].SSRC != uint32('Q') || last.Reports[0].TotalLost != 0 {
		t.Errorf("reception reports %+v, want one for the caller's SSRC %08x with nothing lost", last.Reports, 'Q')
	}
}

// A caller that goes silent (no RTP, no RTCP: a crashed phone, a NAT that
// dropped its binding) is hung up after the media timeout with a cause that
// says so; a transfer target that does the same is hung up alone.
func TestMediaTimeoutEndsDeadLegs(t *testing.T) {
	n := startNode(t, func(c *Config) { c.MediaTimeout = 2 * time.Second })
	t.Run("caller", func(t *testing.T) {
		caller := newPhone(t, 'S', false)
		h := newHook(t, func(ev event) string {
			if ev.Path == "/initiate" {
				return `<Response><Pause duration="30"/></Response>`
			}
			return ""
		})
		appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
		out := dialApp(t, n, caller, appID)
		defer out.Hangup(context.Background())
		waitDone(t, out.Done(), "the server's BYE")
		disc := h.wait("disconnect", 10*time.Second)
		msg, _ := disc.Body["errorMessage"].(string)
		if disc.Body["cause"] != "error" || !strings.Contains(msg, "media timeout") || !strings.Contains(msg, "caller") {
			t.Errorf("disconnect %v", disc.Body)
		}
		checkSchema(t, disc)
	})
	t.Run("transfer target", func(t *testing.T) {
		alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', true)
		h := newHook(t, func(ev event) string {
			if ev.Path == "/initiate" {
				return `<Response><Transfer><SipUri transferDisconnectUrl="/td">` + bob.uri("bob") + `</SipUri></Transfer><Pause duration="30"/></Response>`
			}
			return ""
		})
		appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		call, err := alice.dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer call.Hangup(context.Background())
		// Alice talks from her answer on, Bob is silent: only Bob's leg
		// times out.
		quiet := make(chan struct{})
		testenv.Go(t, func(ctx context.Context) error {
			frame := make([]byte, 160)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					alice.send(0, false, frame, 160)
				case <-quiet:
					return nil
				case <-ctx.Done():
					return nil
				}
			}
		})
		var bobCall interface{ Done() <-chan struct{} }
		select {
		case bobCall = <-bob.calls:
		case <-ctx.Done():
			t.Fatal("bob was never called")
		}
		waitDone(t, bobCall.Done(), "bob's leg")
		td := h.wait("transferDisconnect", 10*time.Second)
		msg, _ := td.Body["errorMessage"].(string)
		if td.Body["cause"] != "error" || !strings.Contains(msg, "media timeout") {
			t.Errorf("transferDisconnect %v", td.Body)
		}
		select {
		case <-call.Done():
			t.Fatal("alice's call ended with bob's leg")
		case <-time.After(300 * time.Millisecond):
		}
		close(quiet)
	})
}

// A node bound to one address (here 127.0.0.1) and started without
// --media-ip names that address in Contact and SDP, not the outbound
// interface's, where nothing of it listens.
func TestAdvertisesTheSIPListenersAddress(t *testing.T) {
	n := startNode(t, func(c *Config) { c.MediaIP = "" })
	caller := newPhone(t, 'C', false)
	h := newHook(t, func(ev event) string { return `<Response><Pause duration="5"/></Response>` })
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	defer out.Hangup(context.Background())
	if !strings.Contains(string(out.AnswerSDP()), "c=IN IP4 127.0.0.1\r\n") {
		t.Errorf("answer SDP does not name 127.0.0.1:\n%s", out.AnswerSDP())
	}
	// The 200 reaches the trace from sipgo's read loop just after the
	// transaction layer has handed it to Dial, so it may be a moment behind.
	var contact string
	for deadline := time.Now().Add(2 * time.Second); contact == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, e := range out.Trace().Entries() {
			if strings.HasPrefix(e.Message, "SIP/2.0 200") {
				for _, line := range strings.Split(e.Message, "\r\n") {
					if strings.HasPrefix(line, "Contact:") {
						contact = line
					}
				}
			}
		}
	}
	if !strings.Contains(contact, "@127.0.0.1:") && !strings.Contains(contact, "sip:127.0.0.1:") {
		t.Errorf("200 OK Contact %q does not name 127.0.0.1", contact)
	}
}
