package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// testPortBase spreads test managers over distinct ranges so parallel
// packages and tests do not fight over ports.
var testPortBase atomic.Int32

func newTestManager(t testing.TB, mod func(*Config)) *Manager {
	t.Helper()
	// Below the kernel's ephemeral range (32768+), where the peers' own
	// sockets land.
	base := 20000 + int(testPortBase.Add(1)%20)*500
	cfg := Config{
		AdvertisedIP: netip.MustParseAddr("127.0.0.1"),
		BindIP:       netip.MustParseAddr("127.0.0.1"),
		PortMin:      base, PortMax: base + 499,
		IdleTimeout: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// peer is a remote RTP endpoint in tests: plain Go over a UDP socket with
// pion/rtp, and pion/srtp when secure.
type peer struct {
	t      testing.TB
	conn   *net.UDPConn
	secure bool
	key    sdesKey
	tx, rx *srtp.Context
	relay  netip.AddrPort
	// rtcp, when set (listenRTCP), is the peer's RTCP socket, named in
	// its offer with a=rtcp.
	rtcp *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
	buf  []byte
}

func newPeer(t testing.TB, secure bool) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, conn: c, secure: secure, ssrc: 0x1234abcd, seq: 1000, ts: 5000, buf: make([]byte, 2000)}
	if secure {
		if p.key, err = newSDESKey(1); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *peer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// offer returns an SDP offer listing formats (rtpmap lines added for
// telephone-event and dynamic types).
func (p *peer) offer(formats ...string) []byte {
	proto := "RTP/AVP"
	if p.secure {
		proto = "RTP/SAVP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	var pts []string
	var attrs []string
	for _, f := range formats {
		pt, rtpmap, _ := strings.Cut(f, " ")
		pts = append(pts, pt)
		if rtpmap != "" {
			attrs = append(attrs, "a=rtpmap:"+pt+" "+rtpmap)
		}
	}
	fmt.Fprintf(&b, "m=audio %d %s %s\r\n", p.port(), proto, strings.Join(pts, " "))
	for _, a := range attrs {
		b.WriteString(a + "\r\n")
	}
	if p.secure {
		b.WriteString("a=crypto:" + p.key.attribute() + "\r\n")
	}
	if p.rtcp != nil {
		fmt.Fprintf(&b, "a=rtcp:%d\r\n", p.rtcp.LocalAddr().(*net.UDPAddr).Port)
	}
	b.WriteString("a=sendrecv\r\n")
	return []byte(b.String())
}

// useAnswer reads the relay's address and key from its SDP (answer or
// offer).
func (p *peer) useAnswer(sdpText []byte) {
	p.t.Helper()
	rm, err := parseRemote(sdpText)
	if err != nil {
		p.t.Fatalf("parsing relay SDP: %v\n%s", err, sdpText)
	}
	p.relay = rm.rtp
	if p.secure {
		if len(rm.cryptos) == 0 {
			p.t.Fatalf("relay SDP has no crypto:\n%s", sdpText)
		}
		if p.tx, err = srtp.CreateContext(p.key.key, p.key.salt, srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
			p.t.Fatal(err)
		}
		if p.rx, err = srtp.CreateContext(rm.cryptos[0].key, rm.cryptos[0].salt, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.SRTPReplayProtection(64)); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *peer) send(pt uint8, marker bool, payload []byte) {
	p.t.Helper()
	p.sendTS(pt, marker, p.ts, payload)
	p.ts += 160
}

func (p *peer) sendTS(pt uint8, marker bool, ts uint32, payload []byte) {
	p.t.Helper()
	if err := p.write(pt, marker, ts, payload); err != nil {
		p.t.Fatal(err)
	}
}

// talk sends one packet the way send does but returns the error, for
// goroutines other than the test's own (which must not call t.Fatal).
func (p *peer) talk(pt uint8, payload []byte) error {
	err := p.write(pt, false, p.ts, payload)
	p.ts += 160
	return err
}

func (p *peer) write(pt uint8, marker bool, ts uint32, payload []byte) error {
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: ts, SSRC: p.ssrc}, Payload: payload}
	p.seq++
	b, err := pkt.Marshal()
	if err != nil {
		return err
	}
	if p.secure {
		if b, err = p.tx.EncryptRTP(nil, b, nil); err != nil {
			return err
		}
	}
	_, err = p.conn.WriteToUDPAddrPort(b, p.relay)
	return err
}

var errTimeout = errors.New("timeout")

// recv returns the next RTP packet, or errTimeout.
func (p *peer) recv(timeout time.Duration) (*rtp.Packet, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, _, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errTimeout
		}
		return nil, err
	}
	b := p.buf[:n]
	if p.secure {
		if b, err = p.rx.DecryptRTP(nil, b, nil); err != nil {
			return nil, fmt.Errorf("peer SRTP decrypt: %w", err)
		}
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), b...)); err != nil {
		return nil, err
	}
	return &pkt, nil
}

// recvN collects packets until n arrived or the stream goes quiet.
func (p *peer) recvN(n int, quiet time.Duration) []*rtp.Packet {
	p.t.Helper()
	var out []*rtp.Packet
	for len(out) < n {
		pkt, err := p.recv(quiet)
		if errors.Is(err, errTimeout) {
			break
		}
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, pkt)
	}
	return out
}

// answered creates a leg answering this peer's offer.
func (p *peer) answered(t testing.TB, s *Session, name string, formats ...string) *Leg {
	t.Helper()
	l, err := s.NewLeg(name)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := l.Answer(p.offer(formats...), AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.useAnswer(ans)
	return l
}

func udpAddr(port int) *net.UDPAddr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }

func listenAt(t testing.TB, port int) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", udpAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// recvStream waits up to first for the stream to start (decoding or speech
// synthesis may take a while on a loaded machine), then collects packets
// until n arrived or it is quiet for quiet.
func (p *peer) recvStream(n int, first, quiet time.Duration) []*rtp.Packet {
	p.t.Helper()
	pkt, err := p.recv(first)
	if err != nil {
		p.t.Fatalf("stream did not start within %v: %v", first, err)
	}
	return append([]*rtp.Packet{pkt}, p.recvN(n-1, quiet)...)
}

// collect reads packets while the sender runs (done delivers its result),
// then drains what is still queued. No packet count depends on timing.
func (p *peer) collect(done <-chan error) ([]*rtp.Packet, error) {
	p.t.Helper()
	var out []*rtp.Packet
	var result error
	finished := false
	deadline := time.Now().Add(60 * time.Second) // only against hangs
	for time.Now().Before(deadline) {
		wait := 100 * time.Millisecond
		if finished {
			wait = 300 * time.Millisecond
		}
		pkt, err := p.recv(wait)
		if errors.Is(err, errTimeout) {
			if finished {
				return out, result
			}
			select {
			case result = <-done:
				finished = true
			default:
			}
			continue
		}
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, pkt)
	}
	p.t.Fatal("sender did not finish within 60 s")
	return nil, nil
}
