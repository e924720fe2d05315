package media

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// checkContinuous asserts pkts are one stream: one SSRC, no missing
// sequence number, each timestamp 160 after the last audio frame's (a
// telephone-event keeps its start timestamp, RFC 4733).
func checkContinuous(t *testing.T, pkts []*rtp.Packet, dtmfPT uint8) {
	t.Helper()
	if len(pkts) < 2 {
		t.Fatalf("%d packets", len(pkts))
	}
	first := pkts[0]
	prevTS := first.Timestamp
	for i, p := range pkts[1:] {
		prev := pkts[i]
		if p.SSRC != first.SSRC {
			t.Fatalf("packet %d: SSRC %08x, stream began with %08x", i+1, p.SSRC, first.SSRC)
		}
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i+1, p.SequenceNumber, prev.SequenceNumber)
		}
		if p.PayloadType == dtmfPT {
			continue
		}
		if prev.PayloadType != dtmfPT && p.Timestamp != prevTS+160 {
			t.Fatalf("packet %d: timestamp %d after %d", i+1, p.Timestamp, prevTS)
		}
		if p.Timestamp-prevTS > 160*60 || int32(p.Timestamp-prevTS) <= 0 {
			t.Fatalf("packet %d: timestamp %d does not follow %d", i+1, p.Timestamp, prevTS)
		}
		prevTS = p.Timestamp
	}
}

func allBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return len(b) > 0
}

// An answered leg sends silence when nothing plays, a playback continues the
// same stream (no gap in sequence or timestamps), and silence resumes after.
func TestActivatedLegStreamsSilenceAroundPlayback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pt   string
		fill byte
	}{{"0", 0xff}, {"8", 0xd5}} {
		m := newTestManager(t, nil)
		s := m.NewSession(SessionOptions{})
		t.Cleanup(func() { s.Close() })
		p := newPeer(t, false)
		l := p.answered(t, s, "caller", tc.pt)
		l.Activate()
		before := p.recvStream(10, 2*time.Second, time.Second)
		for _, pkt := range before {
			if !allBytes(pkt.Payload, tc.fill) || len(pkt.Payload) != 160 {
				t.Fatalf("PT %s: idle packet payload %x, want 160 × %02x", tc.pt, pkt.Payload[:4], tc.fill)
			}
		}
		if !before[0].Marker {
			t.Errorf("PT %s: first packet of the stream has no marker bit", tc.pt)
		}
		tone := sine(8000, 1, 0.2, 440)
		done := testenv.Go(t, func(ctx context.Context) error { return l.PlayPCM(ctx, tone, PlayOptions{}) })
		during, err := p.collectStream(done)
		if err != nil {
			t.Fatal(err)
		}
		after := p.recvN(5, time.Second)
		all := append(append(before, during...), after...)
		checkContinuous(t, all, 101)
		var loud int
		for _, pkt := range during {
			if energy(decodePT(pkt.Header.PayloadType, pkt.Payload)) > 1000 {
				loud++
			}
		}
		if loud < 8 {
			t.Errorf("PT %s: %d loud frames in the stream during playback, want the tone's 10", tc.pt, loud)
		}
		for _, pkt := range after {
			if !allBytes(pkt.Payload, tc.fill) {
				t.Fatalf("PT %s: after playback payload %x, want silence", tc.pt, pkt.Payload[:4])
			}
		}
	}
}

// Until the call is answered a leg sends only what plays (early media).
func TestLegBeforeAnswerSendsOnlyWhatPlays(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0")
	if pkt, err := p.recv(300 * time.Millisecond); !errors.Is(err, errTimeout) {
		t.Fatalf("got %v before any playback on an unanswered leg (err %v)", pkt, err)
	}
	if err := l.PlayPCM(t.Context(), sine(8000, 1, 0.1, 440), PlayOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := p.recvN(50, 300*time.Millisecond); len(got) != 5 {
		t.Errorf("%d packets for 100 ms of audio, want 5", len(got))
	}
}

// A bridged leg carries only its peer's packets; unbridged, its own stream
// resumes where it left off (same SSRC, later timestamps).
func TestBridgedLegSendsNoStreamOfItsOwn(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	a.Activate()
	b.Activate()
	own := y.recvStream(3, 2*time.Second, time.Second)
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	y.recvN(100, 100*time.Millisecond) // what the clock sent before the bridge took
	for range 5 {
		x.send(0, false, payload160(7))
		time.Sleep(20 * time.Millisecond)
	}
	relayed := y.recvN(100, 200*time.Millisecond)
	if len(relayed) != 5 {
		t.Fatalf("bridged: %d packets, want the peer's 5", len(relayed))
	}
	for _, pkt := range relayed {
		if pkt.SSRC != x.ssrc {
			t.Fatalf("bridged: a packet of SSRC %08x, want only the peer's %08x", pkt.SSRC, x.ssrc)
		}
	}
	s.Unbridge(a)
	resumed := y.recvStream(3, 2*time.Second, time.Second)
	if resumed[0].SSRC != own[0].SSRC || int32(resumed[0].Timestamp-own[len(own)-1].Timestamp) <= 0 {
		t.Errorf("after unbridge: SSRC %08x ts %d, before %08x ts %d", resumed[0].SSRC, resumed[0].Timestamp, own[0].SSRC, own[len(own)-1].Timestamp)
	}
}

// SendDTMF on an answered leg: telephone-events in the stream, no audio
// during the event, silence before and after, one sequence.
func TestDTMFInTheContinuousStream(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0", "101 telephone-event/8000")
	l.Activate()
	before := p.recvStream(3, 2*time.Second, time.Second)
	done := testenv.Go(t, func(ctx context.Context) error {
		return l.SendDTMF(ctx, "5", 100*time.Millisecond, 60*time.Millisecond)
	})
	during, err := p.collectStream(done)
	if err != nil {
		t.Fatal(err)
	}
	all := append(before, during...)
	checkContinuous(t, all, 101)
	var events, ends int
	inEvent := false
	for _, pkt := range during {
		switch {
		case pkt.PayloadType == 101:
			if pkt.Payload[0] != 5 {
				t.Fatalf("event %d, want 5", pkt.Payload[0])
			}
			events++
			inEvent = pkt.Payload[1]&0x80 == 0
			if !inEvent {
				ends++
			}
		case inEvent:
			t.Fatalf("an audio packet inside the event")
		}
	}
	if events != 5+3 || ends != 3 {
		t.Errorf("%d event packets (%d end), want 5 updates and 3 ends", events, ends)
	}
}

// listenRTCP gives the peer an RTCP socket (named in its offer).
func (p *peer) listenRTCP(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p.rtcp = c
}

// recvRTCP returns the next compound RTCP packet, or errTimeout.
func (p *peer) recvRTCP(timeout time.Duration) ([]rtcp.Packet, error) {
	buf := make([]byte, 1500)
	_ = p.rtcp.SetReadDeadline(time.Now().Add(timeout))
	n, _, err := p.rtcp.ReadFromUDPAddrPort(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errTimeout
	}
	if err != nil {
		return nil, err
	}
	return rtcp.Unmarshal(buf[:n])
}

// nextSR waits for a sender report that satisfies ok.
func (p *peer) nextSR(t *testing.T, ok func(*rtcp.SenderReport) bool) (*rtcp.SenderReport, *rtcp.SourceDescription) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pkts, err := p.recvRTCP(time.Second)
		if errors.Is(err, errTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sr, _ := pkts[0].(*rtcp.SenderReport)
		if sr == nil {
			t.Fatalf("compound packet starts with %T, want a sender report", pkts[0])
		}
		var sdes *rtcp.SourceDescription
		if len(pkts) > 1 {
			sdes, _ = pkts[1].(*rtcp.SourceDescription)
		}
		if ok(sr) {
			return sr, sdes
		}
	}
	t.Fatal("no matching sender report within 10 s")
	return nil, nil
}

// A leg we terminate sends RFC 3550 sender reports: its own counts, a CNAME,
// and a reception report of what the peer sent (losses, highest sequence,
// and LSR/DLSR once the peer sent a report of its own).
func TestTerminatedLegSendsRTCPReports(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, func(c *Config) { c.RTCPInterval = 100 * time.Millisecond })
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	p.listenRTCP(t)
	l := p.answered(t, s, "caller", "0")
	l.Activate()
	stream := p.recvStream(1, 2*time.Second, time.Second)
	sr, sdes := p.nextSR(t, func(sr *rtcp.SenderReport) bool { return sr.PacketCount > 0 })
	if sr.SSRC != stream[0].SSRC {
		t.Errorf("SR SSRC %08x, RTP SSRC %08x", sr.SSRC, stream[0].SSRC)
	}
	if sr.OctetCount != sr.PacketCount*160 {
		t.Errorf("SR counts %d packets, %d octets", sr.PacketCount, sr.OctetCount)
	}
	if sdes == nil || len(sdes.Chunks) != 1 || sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME || sdes.Chunks[0].Items[0].Text == "" {
		t.Errorf("no CNAME after the SR: %+v", sdes)
	}
	if ntpSecs := sr.NTPTime >> 32; time.Until(time.Unix(int64(ntpSecs)-2208988800, 0)).Abs() > time.Minute {
		t.Errorf("SR NTP time %d is not now", ntpSecs)
	}

	// 20 packets sent, sequence numbers 3 and 4 of them lost on the way.
	first := p.seq
	for i := range 20 {
		if i == 3 || i == 4 {
			p.seq++
			p.ts += 160
			continue
		}
		p.send(0, i == 0, payload160(1))
	}
	want := uint32(first) + 19
	sr, _ = p.nextSR(t, func(sr *rtcp.SenderReport) bool {
		return len(sr.Reports) == 1 && sr.Reports[0].LastSequenceNumber == want
	})
	rr := sr.Reports[0]
	if rr.SSRC != p.ssrc || rr.TotalLost != 2 {
		t.Errorf("reception report %+v: want SSRC %08x and 2 lost", rr, p.ssrc)
	}

	// The peer's own sender report comes back as LSR with a delay.
	ntp := ntpTime(time.Now())
	b, err := (&rtcp.SenderReport{SSRC: p.ssrc, NTPTime: ntp}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.rtcp.WriteToUDPAddrPort(b, udpAddr(l.Port()+1).AddrPort()); err != nil {
		t.Fatal(err)
	}
	sr, _ = p.nextSR(t, func(sr *rtcp.SenderReport) bool {
		return len(sr.Reports) == 1 && sr.Reports[0].LastSenderReport == uint32(ntp>>16)
	})
	if sr.Reports[0].Delay == 0 {
		t.Errorf("DLSR 0 with LSR set")
	}
}

func TestReceptionStatistics(t *testing.T) {
	var r rxStats
	var s rtcpSender
	start := time.Now()
	h := rtp.Header{SSRC: 9}
	// Across the sequence wrap, each packet on time, one lost (65534) and
	// one repeated (0, as a non-audio packet so it does not touch the
	// jitter): ten packets counted, nine distinct.
	for i, seq := range []uint16{65530, 65531, 65532, 65533, 65535, 0, 1, 0, 2, 3} {
		frame := uint16(seq - 65530)
		h.SequenceNumber = seq
		h.Timestamp = 1000 + uint32(frame)*160
		r.rtp(&h, i != 7, start.Add(time.Duration(frame)*20*time.Millisecond))
	}
	now := start.Add(10 * 20 * time.Millisecond)
	rr, ok := r.report(&s, now)
	if !ok {
		t.Fatal("no report")
	}
	if rr.LastSequenceNumber != 1<<16+3 {
		t.Errorf("extended highest sequence %d, want %d", rr.LastSequenceNumber, 1<<16+3)
	}
	// Expected 10, received 10 (the duplicate counts, as RFC 3550 A.3 says
	// it may): no loss reported rather than a negative one.
	if rr.TotalLost != 0 || rr.FractionLost != 0 {
		t.Errorf("lost %d (fraction %d), want 0", rr.TotalLost, rr.FractionLost)
	}
	if rr.Jitter != 0 {
		t.Errorf("jitter %d for packets on time, want 0", rr.Jitter)
	}
	// Late arrivals raise the jitter estimate.
	for i := range 50 {
		h.SequenceNumber++
		h.Timestamp += 160
		late := time.Duration(i%2) * 10 * time.Millisecond
		r.rtp(&h, true, now.Add(late))
		now = now.Add(20 * time.Millisecond)
	}
	rr, _ = r.report(&s, now)
	if rr.Jitter < 40 || rr.Jitter > 80 {
		t.Errorf("jitter %d samples for ±10 ms arrivals, want about 80 × (1 - 1/16)^k, 40..80", rr.Jitter)
	}
}

// collectStream reads a continuous stream until the sender's work is done
// (done delivers its result); what follows stays queued for the next read.
func (p *peer) collectStream(done <-chan error) ([]*rtp.Packet, error) {
	p.t.Helper()
	var out []*rtp.Packet
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			return out, err
		default:
		}
		pkt, err := p.recv(time.Second)
		if err != nil {
			return out, err
		}
		out = append(out, pkt)
	}
	p.t.Fatal("sender did not finish within 60 s")
	return nil, nil
}

// The table-driven tone matches the formula, cadence included.
func TestToneSourceMatchesSine(t *testing.T) {
	src := &toneSource{freqs: []float64{440, 480}, on: 400, off: 240, amp: 6000}
	frame := make([]int16, frameSamples)
	for n := 0; n < 40; n++ {
		src.next(frame)
		for i, got := range frame {
			s := n*frameSamples + i
			var want float64
			if s%640 < 400 {
				want = (math.Sin(2*math.Pi*440*float64(s)/8000) + math.Sin(2*math.Pi*480*float64(s)/8000)) * 3000
			}
			if d := float64(got) - want; d > 1 || d < -1 {
				t.Fatalf("sample %d: %d, want %.1f", s, got, want)
			}
		}
	}
}
