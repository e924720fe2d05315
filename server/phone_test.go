package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/sip"
)

// maxAudio bounds the audio a phone keeps: 60 s.
const maxAudio = 60 * 8000

// phone is a SIP user agent for tests: our own sip.Server as UAS and UAC,
// with a real RTP socket that sends G.711 frames filled with its marker byte
// and counts what it receives by the first payload byte.
type phone struct {
	t      *testing.T
	marker byte
	srv    *sip.Server
	addr   string // SIP UDP host:port
	rtp    *net.UDPConn
	calls  chan *sip.InboundCall

	remote atomic.Pointer[netip.AddrPort]
	// rtcp, when set (listenRTCP), is named in the phone's SDP.
	rtcp     *net.UDPConn
	mu       sync.Mutex
	got      map[byte]int
	arrivals []arrival // bounded by maxArrivals
	audio    []int16   // PCMU received, decoded; bounded by maxAudio
	seq      uint16
	ts       uint32
	// law is the G.711 payload type the phone offers and answers with (0
	// PCMU, the default, or 8 PCMA); pcm is what it received, decoded,
	// while capturing (bounded by maxCapture).
	law       uint8
	capturing bool
	pcm       []int16
}

// anyApp lets every INVITE through a phone's front door: a phone has no
// applications, it just answers.
type anyApp struct{}

func (anyApp) SIPApplication(_ context.Context, id string) (sip.Application, error) {
	return sip.Application{ID: id, AccountID: "phone", InboundEnabled: true}, nil
}

func newPhone(t *testing.T, marker byte, answer bool) *phone {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, marker: marker, rtp: conn, calls: make(chan *sip.InboundCall, 4), got: map[byte]int{}}
	h := sip.HandlerFunc(func(ctx context.Context, c *sip.InboundCall) {
		if !answer {
			c.Reject(486, "Busy Here")
			return
		}
		p.learnRemote(c.Request.Body())
		if err := c.Answer(ctx, p.sdp()); err != nil {
			t.Errorf("phone %c answer: %v", marker, err)
			return
		}
		p.calls <- c
		<-ctx.Done()
	})
	srv, err := sip.NewServer(sip.Config{Domain: "phone.test", Region: "US", AdvertisedHost: "127.0.0.1",
		NonceKey: []byte("phone-key-phone-key-phone-key-00"), Logger: testLogger(t)}, anyApp{}, h)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ListenAndServe(ctx, "udp", "127.0.0.1:0")
	}()
	for deadline := time.Now().Add(5 * time.Second); len(srv.Listeners()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("phone did not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.addr = srv.Listeners()[0].Addr
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		p.readLoop()
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		scancel()
		cancel()
		<-done
		conn.Close() // ends readLoop
		<-reading
	})
	return p
}

func (p *phone) uri(user string) string { return "sip:" + user + "@" + p.addr }

func (p *phone) sdp() []byte {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	rtcp := ""
	if p.rtcp != nil {
		rtcp = fmt.Sprintf("a=rtcp:%d\r\n", p.rtcp.LocalAddr().(*net.UDPAddr).Port)
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d 101\r\na=rtpmap:%d %s/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n%sa=sendrecv\r\n",
		port, p.law, p.law, map[uint8]string{0: "PCMU", 8: "PCMA"}[p.law], rtcp))
}

var (
	sdpConn  = regexp.MustCompile(`(?m)^c=IN IP4 ([0-9.]+)`)
	sdpAudio = regexp.MustCompile(`(?m)^m=audio ([0-9]+) `)
)

func (p *phone) learnRemote(sdp []byte) {
	c, m := sdpConn.FindSubmatch(sdp), sdpAudio.FindSubmatch(sdp)
	if c == nil || m == nil {
		p.t.Errorf("phone %c: no media address in %q", p.marker, sdp)
		return
	}
	port, _ := strconv.Atoi(string(m[1]))
	ap := netip.AddrPortFrom(netip.MustParseAddr(string(c[1])), uint16(port))
	p.remote.Store(&ap)
}

// dial calls uri with digest credentials and returns the answered call.
func (p *phone) dial(ctx context.Context, uri, user, password string) (*sip.OutboundCall, error) {
	out, err := p.srv.Dial(ctx, sip.DialRequest{URI: uri, From: "sip:+15550002222@127.0.0.1", SDP: p.sdp(), Username: user, Password: password})
	if err != nil {
		return nil, err
	}
	p.learnRemote(out.AnswerSDP())
	return out, nil
}

func (p *phone) readLoop() {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtp.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		p.mu.Lock()
		if len(p.arrivals) < maxArrivals {
			p.arrivals = append(p.arrivals, arrival{at: at, Header: pkt.Header})
		}
		if pkt.PayloadType == 0 {
			p.got[pkt.Payload[0]]++
			if len(p.audio) < maxAudio {
				for _, b := range pkt.Payload {
					p.audio = append(p.audio, g711.DecodeUlaw(b))
				}
			}
		}
		if p.capturing && (pkt.PayloadType == 0 || pkt.PayloadType == 8) && len(p.pcm) < maxCapture {
			p.pcm = decodeG711(p.pcm, pkt.PayloadType, pkt.Payload)
		}
		p.mu.Unlock()
	}
}

// heard is how many frames carrying marker m this phone received.
func (p *phone) heard(m byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[m]
}

func (p *phone) send(pt uint8, marker bool, payload []byte, tsStep uint32) {
	r := p.remote.Load()
	if r == nil {
		return
	}
	p.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: uint32(p.marker), Marker: marker}, Payload: payload}
	p.ts += tsStep
	b, _ := pkt.Marshal()
	p.rtp.WriteToUDPAddrPort(b, *r)
}

// talk sends 20 ms PCMU frames of its marker until other has heard want of
// them (and this phone has heard want of other's), or the time runs out.
func (p *phone) talkWith(other *phone, want int, limit time.Duration) {
	p.talkUntil(context.Background(), other, want, limit)
}

// talkUntil is talkWith that also stops when ctx ends, for goroutines.
func (p *phone) talkUntil(ctx context.Context, other *phone, want int, limit time.Duration) {
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = p.marker
	}
	oframe := make([]byte, 160)
	for i := range oframe {
		oframe[i] = other.marker
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for other.heard(p.marker) < want || p.heard(other.marker) < want {
		select {
		case <-tick.C:
			p.send(0, false, frame, 160)
			other.send(0, false, oframe, 160)
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
	}
}

// pressDigits sends RFC 4733 events: three updates and three end packets per
// digit, as phones do.
func (p *phone) pressDigits(digits string) {
	codes := map[rune]byte{'*': 10, '#': 11}
	for d := '0'; d <= '9'; d++ {
		codes[d] = byte(d - '0')
	}
	for _, d := range digits {
		ev := codes[d]
		start := p.ts
		for i := 0; i < 6; i++ {
			end := i >= 3
			dur := uint16(160 * (i + 1))
			flags := byte(10) // volume
			if end {
				flags |= 0x80
				dur = 160 * 4
			}
			payload := []byte{ev, flags, byte(dur >> 8), byte(dur)}
			p.ts = start
			p.send(101, i == 0, payload, 0)
			time.Sleep(20 * time.Millisecond)
		}
		p.ts = start + 160*5
		time.Sleep(100 * time.Millisecond)
	}
}
