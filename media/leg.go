package media

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// legState is the negotiated media of a leg: an immutable snapshot swapped
// atomically on (re)negotiation, read lock-free by the packet path.
type legState struct {
	neg  negotiated
	srtp *srtpContexts // nil for plain RTP
}

// Leg is one party's media stream: an RTP/RTCP socket pair on the relay, the
// negotiated codec and keys, and the remote address (latched from the first
// packets received). A leg is either bridged to another leg (relay) or
// served by the local endpoint (Play, Speak, SendDTMF, ...). Record and DTMF
// detection work in both modes.
type Leg struct {
	s    *Session
	name string
	log  *slog.Logger
	port int
	rtp  *net.UDPConn
	rtcp *net.UDPConn
	wg   sync.WaitGroup

	closed atomic.Bool
	st     atomic.Pointer[legState]
	peer   atomic.Pointer[Leg]

	rtpRemote   atomic.Pointer[netip.AddrPort]
	rtcpRemote  atomic.Pointer[netip.AddrPort]
	rtpLatched  atomic.Bool
	rtcpLatched atomic.Bool
	signal      atomic.Pointer[signalSource] // set by AllowSource
	rxPackets   atomic.Uint64

	// txMu serialises encryption with the tx SRTP contexts and their
	// scratch buffers (the relay from the peer and the endpoint both send).
	txMu      sync.Mutex
	txBuf     []byte
	txRTCPBuf []byte
	// tx encodes what the leg sends when it is not G.711 passed through.
	tx txCodec

	// mu guards negotiation bookkeeping.
	mu        sync.Mutex
	sessID    uint64
	sdpVer    uint64
	localKey  *sdesKey
	remoteKey *sdesKey
	offered   []Codec
	offerSRTP bool
	sdpRTP    netip.AddrPort
	sdpRTCP   netip.AddrPort

	// clocked says whether the leg is on the media clock (clock.mu).
	clocked bool
	send    sender
	rx      rxStats
	dtmf    dtmfHub
	taps    tapList
	// feed is outside audio the endpoint sends when no verb plays.
	feed atomic.Pointer[Feed]
}

func newLeg(s *Session, name string) (*Leg, error) {
	m := s.m
	var lastErr error
	for attempt := 0; attempt < 16; attempt++ {
		port, err := m.pool.Acquire()
		if err != nil {
			return nil, err
		}
		rtpConn, err := listenUDP(m.cfg.BindIP, port, m.cfg.ReadBuffer)
		if err != nil {
			lastErr = err
			m.pool.Release(port)
			continue
		}
		rtcpConn, err := listenUDP(m.cfg.BindIP, port+1, m.cfg.ReadBuffer)
		if err != nil {
			lastErr = err
			rtpConn.Close()
			m.pool.Release(port)
			continue
		}
		// The SRTP and transcoding send buffers are made when first needed:
		// a plain G.711 leg never uses them.
		l := &Leg{
			s: s, name: name, port: port, rtp: rtpConn, rtcp: rtcpConn,
			log: s.log.With("leg", name, "port", port),
		}
		var rnd [8]byte
		_, _ = rand.Read(rnd[:])
		l.sessID = binary.BigEndian.Uint64(rnd[:]) >> 2 // positive when printed as int64
		l.send.init()
		l.send.rtcp.due = nextReportTicks(m.cfg.RTCPInterval)
		l.wg.Add(2)
		go l.readRTP()
		go l.readRTCP()
		return l, nil
	}
	return nil, fmt.Errorf("media: binding RTP sockets: %w", lastErr)
}

func listenUDP(ip netip.Addr, port, rbuf int) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(rbuf) // best effort: the kernel caps it at rmem_max
	return c, nil
}

// Name returns the label given to NewLeg.
func (l *Leg) Name() string { return l.name }

// Port returns the leg's local RTP port (RTCP is Port()+1).
func (l *Leg) Port() int { return l.port }

// Codec returns the negotiated audio codec; ok is false before negotiation.
func (l *Leg) Codec() (c Codec, ok bool) {
	st := l.st.Load()
	if st == nil {
		return Codec{}, false
	}
	return st.neg.audio, true
}

// Secure reports whether the leg uses SRTP.
func (l *Leg) Secure() bool {
	st := l.st.Load()
	return st != nil && st.srtp != nil
}

// RemoteAddr returns where RTP to this leg is sent: the latched source once
// a packet arrived, before that the address from the remote description.
func (l *Leg) RemoteAddr() (netip.AddrPort, bool) {
	p := l.rtpRemote.Load()
	if p == nil {
		return netip.AddrPort{}, false
	}
	return *p, l.rtpLatched.Load()
}

// Peer returns the leg this one is bridged to, or nil.
func (l *Leg) Peer() *Leg { return l.peer.Load() }

func (l *Leg) unbridge() {
	if p := l.peer.Swap(nil); p != nil {
		p.peer.CompareAndSwap(l, nil)
	}
}

// Close closes this leg alone (for example a transfer target that hung up)
// and returns its ports. Session.Close closes every leg.
func (l *Leg) Close() error {
	l.s.removeLeg(l)
	return l.close()
}

func (l *Leg) close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	l.unbridge()
	if w := l.send.work.Load(); w != nil {
		w.finish(ErrClosed)
	}
	l.taps.stopAll()
	err := errors.Join(l.rtp.Close(), l.rtcp.Close())
	l.wg.Wait()
	l.tx.close()
	l.dtmf.closeAll()
	l.s.m.pool.Release(l.port)
	if err != nil {
		return fmt.Errorf("media: closing leg %s: %w", l.name, err)
	}
	return nil
}

// NATWindow is how long after AllowSource media from the signalling source's
// IP may latch a leg whose description names another address.
const NATWindow = 10 * time.Second

// signalSource is the IP a call's signalling came from, and until when it
// may latch the leg.
type signalSource struct {
	ip    netip.Addr
	until time.Time
}

// AllowSource lets media from ip (the address the call's SIP signalling
// came from) latch the leg for the next NATWindow, for peers behind a NAT
// whose description names a private address. Without it only the
// description's own address may.
func (l *Leg) AllowSource(ip netip.Addr) {
	if ip.IsValid() {
		l.signal.Store(&signalSource{ip: ip.Unmap(), until: time.Now().Add(NATWindow)})
	}
}

// setRemote points the leg at the address of a new description (l.mu
// held). The latch is reset only when the described address changed, so a
// re-INVITE that keeps it does not reopen the leg to injection.
func (l *Leg) setRemote(rm *remoteMedia) {
	if l.sdpRTP != rm.rtp || l.rtpRemote.Load() == nil {
		l.sdpRTP = rm.rtp
		a := rm.rtp
		l.rtpRemote.Store(&a)
		l.rtpLatched.Store(false)
	}
	if l.sdpRTCP != rm.rtcp || l.rtcpRemote.Load() == nil {
		l.sdpRTCP = rm.rtcp
		a := rm.rtcp
		l.rtcpRemote.Store(&a)
		l.rtcpLatched.Store(false)
	}
}

type (
	atomicAddr = atomic.Pointer[netip.AddrPort]
	atomicBool = atomic.Bool
)
