package media

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

func payload160(seed byte) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// Caller on plain RTP with PCMU, callee on SRTP with PCMA: packets cross the
// relay both ways, transcoded byte-exactly, with payload types mapped.
func TestBridgeRelaysBothWaysPlainToSRTPWithTranscoding(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	caller := newPeer(t, false)
	callee := newPeer(t, true)
	a := caller.answered(t, s, "caller", "0", "101 telephone-event/8000")
	b := callee.answered(t, s, "callee", "8", "96 telephone-event/8000")
	if !b.Secure() || a.Secure() {
		t.Fatalf("secure: a=%v b=%v", a.Secure(), b.Secure())
	}
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	const n = 20
	// Callee speaks first so the relay latches it; the caller's packets
	// before it latched are sent to the SDP address, which is the same.
	for i := 0; i < n; i++ {
		caller.send(0, i == 0, payload160(byte(i)))
		callee.send(8, i == 0, payload160(byte(100+i)))
		time.Sleep(2 * time.Millisecond)
	}
	atCallee := callee.recvN(n, 2*time.Second)
	atCaller := caller.recvN(n, 2*time.Second)
	if len(atCallee) != n || len(atCaller) != n {
		t.Fatalf("received %d at callee, %d at caller, want %d each", len(atCallee), len(atCaller), n)
	}
	for i, p := range atCallee {
		want := g711.UlawToAlawBuf(make([]byte, 160), payload160(byte(i)))
		if p.PayloadType != 8 || !bytes.Equal(p.Payload, want) {
			t.Fatalf("callee packet %d: PT %d payload mismatch", i, p.PayloadType)
		}
		if p.SSRC != caller.ssrc || p.SequenceNumber != 1000+uint16(i) {
			t.Fatalf("callee packet %d: SSRC %x seq %d not passed through", i, p.SSRC, p.SequenceNumber)
		}
	}
	for i, p := range atCaller {
		want := g711.AlawToUlawBuf(make([]byte, 160), payload160(byte(100+i)))
		if p.PayloadType != 0 || !bytes.Equal(p.Payload, want) {
			t.Fatalf("caller packet %d: PT %d payload mismatch", i, p.PayloadType)
		}
	}
	if !atCallee[0].Marker || atCallee[1].Marker {
		t.Fatal("marker bit not relayed")
	}

	// telephone-event payload type is mapped 101 -> 96.
	caller.send(101, true, []byte{5, 0x8a, 0, 160})
	p, err := callee.recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 96 || p.Payload[0] != 5 {
		t.Fatalf("DTMF relayed as PT %d payload %x", p.PayloadType, p.Payload)
	}

	// Back to the endpoint after Unbridge.
	s.Unbridge(a)
	if a.Peer() != nil || b.Peer() != nil {
		t.Fatal("Unbridge left a peer")
	}
	caller.send(0, false, payload160(1))
	if _, err := callee.recv(200 * time.Millisecond); !errors.Is(err, errTimeout) {
		t.Fatalf("packet relayed after Unbridge: %v", err)
	}
}

func TestBridgePassThroughSameCodec(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, true), newPeer(t, true)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	x.send(0, true, payload160(7))
	p, err := y.recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Payload, payload160(7)) {
		t.Fatal("payload changed on pass-through")
	}
}

func TestRTCPRelayed(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	// y's RTCP socket is its RTP port+1 by SDP; listen there.
	rtcpY := listenAt(t, y.port()+1)
	// A minimal RTCP receiver report (V=2, PT=201, length 1, SSRC).
	rr := []byte{0x80, 201, 0, 1, 1, 2, 3, 4}
	if _, err := x.conn.WriteToUDP(rr, udpAddr(a.Port()+1)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = rtcpY.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := rtcpY.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("RTCP not relayed: %v", err)
	}
	if !bytes.Equal(buf[:n], rr) {
		t.Fatalf("RTCP changed: %x", buf[:n])
	}
}

// After the first packet latched the remote, a third party's packets are
// dropped: nothing it sends reaches the other leg.
func TestLatchingBlocksThirdSender(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	x.send(0, true, payload160(1))
	if _, err := y.recv(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if addr, latched := a.RemoteAddr(); !latched || addr.Port() != uint16(x.port()) {
		t.Fatalf("not latched to the first sender: %v %v", addr, latched)
	}
	intruder := newPeer(t, false)
	intruder.relay = x.relay
	for i := 0; i < 5; i++ {
		intruder.send(0, false, payload160(99))
	}
	if p, err := y.recv(300 * time.Millisecond); !errors.Is(err, errTimeout) {
		t.Fatalf("intruder packet relayed: %v %v", p, err)
	}
	// The genuine sender still gets through.
	x.send(0, false, payload160(2))
	p, err := y.recv(5 * time.Second)
	if err != nil || !bytes.Equal(p.Payload, payload160(2)) {
		t.Fatalf("genuine packet after intrusion: %v", err)
	}
}

// On an SRTP leg a forged packet cannot even latch.
func TestSRTPRejectsForgedBeforeLatch(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, true), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	forger := newPeer(t, false)
	forger.relay = x.relay
	forger.send(0, true, payload160(3))
	if _, err := y.recv(300 * time.Millisecond); !errors.Is(err, errTimeout) {
		t.Fatalf("forged packet relayed: %v", err)
	}
	if _, latched := a.RemoteAddr(); latched {
		t.Fatal("forged packet latched the leg")
	}
	// A genuine packet, then a byte-identical replay of it: the replay is
	// dropped (replay protection).
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 77, Timestamp: 7700, SSRC: 99}, Payload: payload160(4)}
	raw, _ := pkt.Marshal()
	enc, err := x.tx.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := x.conn.WriteToUDPAddrPort(enc, x.relay); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := y.recv(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := y.recv(300 * time.Millisecond); !errors.Is(err, errTimeout) {
		t.Fatalf("replayed SRTP packet relayed: %v", err)
	}
}

func TestBridgeIncompatibleCodecs(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	// y offers G.722 and PCMU; with a as peer its PCMU is preferred, so
	// the bridge needs no transcoding.
	b, _ := s.NewLeg("b")
	ans, err := b.Answer(y.offer("9", "0"), AnswerOptions{Peer: a})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Codec(); c.Name != "PCMU" {
		t.Fatalf("chose %s:\n%s", c.Name, ans)
	}
	// A codec we can neither decode nor pass through (no peer has it) is
	// refused.
	z := newPeer(t, false)
	c, _ := s.NewLeg("c")
	if _, err := c.Answer(z.offer("3"), AnswerOptions{}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("GSM-only offer without peer: %v", err)
	}
	// A callee that answers GSM (forwarded from a caller's offer, for
	// pass-through) cannot be bridged to a PCMU leg.
	g, _ := s.NewLeg("gsm")
	w := newPeer(t, false)
	off, err := g.Offer(OfferOptions{PeerOffer: w.offer("3", "0")})
	if err != nil {
		t.Fatal(err)
	}
	w.useAnswer(off)
	if err := g.SetAnswer(w.offer("3")); err != nil {
		t.Fatal(err)
	}
	if err := s.Bridge(g, a); !errors.Is(err, ErrIncompatibleCodecs) {
		t.Fatalf("GSM to PCMU bridge: %v", err)
	}
}

// Opus is passed through (no transcoding) when both legs have it: the
// B2BUA flow forwards the caller's offer to the callee, then answers the
// caller with the callee's choice.
func TestOpusPassThroughWhenBothLegsOfferIt(t *testing.T) {
	needCodecLibs(t)
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	callerOffer := x.offer("96 opus/48000/2", "0", "101 telephone-event/8000")

	b, _ := s.NewLeg("callee")
	off, err := b.Offer(OfferOptions{PeerOffer: callerOffer})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(off, []byte("m=audio "+strconv.Itoa(b.Port())+" RTP/AVP 96 0 8 9 18 101 102")) {
		t.Fatalf("offer does not carry the caller's codecs first:\n%s", off)
	}
	y.useAnswer(off)
	if err := b.SetAnswer(y.offer("96 opus/48000/2", "101 telephone-event/8000")); err != nil {
		t.Fatal(err)
	}
	a, _ := s.NewLeg("caller")
	ans, err := a.Answer(callerOffer, AnswerOptions{Peer: b})
	if err != nil {
		t.Fatal(err)
	}
	x.useAnswer(ans)
	if c, _ := a.Codec(); c.Name != "opus" {
		t.Fatalf("caller leg chose %s:\n%s", c.Name, ans)
	}
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	opaque := []byte("opus frame bytes, relayed untouched")
	x.send(96, true, opaque)
	p, err := y.recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 96 || !bytes.Equal(p.Payload, opaque) {
		t.Fatalf("PT %d payload %q", p.PayloadType, p.Payload)
	}
	// Unbridged, the endpoint encodes Opus itself, on the 48 kHz clock.
	s.Unbridge(a)
	if err := a.PlaySilence(context.Background(), 60*time.Millisecond); err != nil {
		t.Fatalf("play on opus leg: %v", err)
	}
	got := x.recvN(3, time.Second)
	if len(got) < 2 || got[0].PayloadType != 96 || got[1].Timestamp-got[0].Timestamp != 960 {
		t.Fatalf("endpoint Opus stream: %d packets %+v", len(got), got)
	}
}

// With the default wildcard bind (dual-stack socket), sources arrive as
// IPv4-mapped addresses; latching and sending must still match them.
func TestWildcardBindRelays(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.BindIP = netip.Addr{} })
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "a", "0")
	b := y.answered(t, s, "b", "0")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		x.send(0, i == 0, payload160(byte(i)))
		if _, err := y.recv(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		y.send(0, i == 0, payload160(byte(i)))
		if _, err := x.recv(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// BXML <Bridge> joins two calls: legs of different sessions. Closing one
// session unbridges the other leg.
func TestBridgeAcrossSessions(t *testing.T) {
	m := newTestManager(t, nil)
	s1, s2 := m.NewSession(SessionOptions{}), m.NewSession(SessionOptions{})
	defer s1.Close()
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s1, "call1", "0")
	b := y.answered(t, s2, "call2", "8")
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	x.send(0, true, payload160(5))
	p, err := y.recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 8 {
		t.Fatalf("PT %d", p.PayloadType)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Peer() != nil {
		t.Fatal("closing the other session left the leg bridged to a closed leg")
	}
	if err := a.PlaySilence(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("leg not back to the endpoint: %v", err)
	}
}
