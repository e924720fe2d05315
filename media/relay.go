package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

const maxPacket = 1600

// rxBuffers are a receive loop's working buffers. They come from a pool and
// go back when the loop ends: a call's legs would otherwise allocate about
// 13 KiB of them each, most of a call's garbage.
type rxBuffers struct {
	buf, plain   []byte
	pcm, scratch []int16
}

var rxPool = sync.Pool{New: func() any {
	return &rxBuffers{
		buf: make([]byte, maxPacket), plain: make([]byte, maxPacket),
		pcm: make([]int16, 0, maxPacket), scratch: make([]int16, 0, maxPacket),
	}
}}

// readRTP is the leg's RTP receive loop: authenticate (SRTP), latch, detect
// DTMF, feed recorders, and relay to the peer when bridged. Everything runs
// inline on this goroutine; the relay path allocates nothing.
func (l *Leg) readRTP() {
	defer l.wg.Done()
	bufs := rxPool.Get().(*rxBuffers)
	defer rxPool.Put(bufs)
	buf, plain, pcm, scratch := bufs.buf, bufs.plain, bufs.pcm[:0], bufs.scratch[:0]
	defer func() { bufs.pcm = pcm[:0] }() // keep what decoding grew it to
	var h rtp.Header
	var det dtmfDetector
	var rx rxDecoder
	defer rx.close()
	var tapDown halfband // 16 kHz bridge audio to the taps' 8 kHz
	for {
		n, src, err := l.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		st := l.st.Load()
		if st == nil {
			dropPayloadType.Inc() // media before negotiation: nowhere to send it
			continue
		}
		pkt := buf[:n]
		if st.srtp != nil {
			// Decrypting before latching means only the holder of the
			// remote key can latch: no injection even before the first
			// genuine packet.
			pkt, err = st.srtp.rxRTP.DecryptRTP(plain[:0], buf[:n], &h)
			if err != nil {
				dropSRTP.Inc()
				continue
			}
		} else if _, err := h.Unmarshal(pkt); err != nil || h.Version != 2 {
			dropMalformed.Inc()
			continue
		}
		if !l.accept(src, &l.rtpRemote, &l.rtpLatched) {
			dropUnlatched.Inc()
			continue
		}
		l.rxPackets.Add(1)
		payload := rtpPayload(pkt, &h)
		if payload == nil {
			dropMalformed.Inc()
			continue
		}
		neg := &st.neg
		peer := l.peer.Load()
		var decoded []int16 // the payload as PCM at rate, when something needs it
		rate := sampleRate
		if neg.hasDTMF && h.PayloadType == neg.dtmf.PayloadType {
			det.clock = neg.dtmf.ClockRate
			if evs, n := det.feed(h.Timestamp, payload); n > 0 {
				l.dtmf.publish(evs, n)
			}
		} else if h.PayloadType == neg.audio.PayloadType {
			// Decoding costs nothing on the pass-through fast path: only
			// taps and a peer without our codec need it.
			transcode := false
			if peer != nil {
				if pc, ok := peer.Codec(); ok && needTranscode(neg.audio, pc) {
					transcode, rate = true, pivotRate(neg.audio, pc)
				}
			}
			if taps := l.taps.active(); taps || transcode {
				var ok bool
				if pcm, ok = rx.decode(pcm[:0], neg.audio, rate, payload); ok {
					decoded = pcm
				}
				if taps {
					in := pcm
					if rate != sampleRate {
						in = tapDown.down(scratch[:0], pcm)
					}
					l.taps.in(in)
				}
			}
		}
		if peer != nil {
			peer.relayRTP(neg, pkt, &h, payload, decoded, rate, scratch[:0])
		} else {
			// Reception statistics are for our own reports, which only
			// legs we terminate send: the relay path does not pay for them.
			l.rx.rtp(&h, h.PayloadType == neg.audio.PayloadType, time.Now())
		}
	}
}

// accept implements symmetric RTP latching with a source check: the first
// authentic packet from an address the call names fixes the remote address;
// later packets from anywhere else are dropped. Before latching, remote holds
// the address of the remote description, and only its IP (any port: a NAT
// may change the port) or, for the first NATWindow after AllowSource, the
// IP the call's signalling came from (a NAT that put a private address in
// the description) may latch. A sprayer across the port range gets nothing.
func (l *Leg) accept(src netip.AddrPort, remote *atomicAddr, latched *atomicBool) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if latched.Load() {
		r := remote.Load()
		return r != nil && *r == src
	}
	if !l.mayLatch(src.Addr(), remote.Load()) {
		return false
	}
	a := src // only the latching packet allocates
	remote.Store(&a)
	latched.Store(true)
	l.log.Debug("remote latched", "addr", src)
	return true
}

// mayLatch reports whether a packet from ip may latch a leg whose remote
// description names described.
//
// A phone on the node's own machine describes and signals from loopback (it
// dialled localhost), yet its packets to our advertised address leave from
// that address: for a local destination the kernel picks the destination
// itself as the source. So a packet from the advertised address counts as
// one from loopback, when that address is one of this host's: only this
// host can send from it, since Linux drops packets from the network that
// claim a local source address (unless accept_local is set).
func (l *Leg) mayLatch(ip netip.Addr, described *netip.AddrPort) bool {
	m := l.s.m
	sameHost := m.advertisedLocal && ip == m.cfg.AdvertisedIP && !ip.IsLoopback()
	from := func(a netip.Addr) bool { return a == ip || sameHost && a.IsLoopback() }
	if described != nil && from(described.Addr().Unmap()) {
		return true
	}
	sig := l.signal.Load()
	return sig != nil && from(sig.ip) && time.Now().Before(sig.until)
}

// rtpPayload returns the payload of a parsed packet without padding, or nil
// when the lengths do not add up.
func rtpPayload(pkt []byte, h *rtp.Header) []byte {
	hl := h.MarshalSize()
	if hl > len(pkt) {
		return nil
	}
	end := len(pkt)
	if h.Padding {
		if end == hl {
			return nil
		}
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-hl {
			return nil
		}
		end -= pad
	}
	return pkt[hl:end]
}

// relayRTP sends a packet received on the peer to this leg, mapping payload
// types. Audio in the same format passes through untouched, G.711 changes
// law byte by byte, and anything else is encoded again from pcm, the
// payload decoded by the peer at rate Hz (nil when it could not be). pkt is
// modified in place; scratch is room for decoding.
func (l *Leg) relayRTP(from *negotiated, pkt []byte, h *rtp.Header, payload []byte, pcm []int16, rate int, scratch []int16) {
	st := l.st.Load()
	if st == nil {
		return
	}
	to := &st.neg
	switch {
	case h.PayloadType == from.audio.PayloadType:
		switch {
		case from.audio.sameFormat(to.audio):
		case from.audio.isG711() && to.audio.isG711():
			if from.audio.sameFormat(CodecPCMU) {
				g711.UlawToAlawBuf(payload, payload)
			} else {
				g711.AlawToUlawBuf(payload, payload)
			}
			metricTranscoded.Inc()
		case pcm != nil:
			l.relayTranscoded(st, from, h, pcm, rate)
			return
		default:
			dropCodec.Inc()
			return
		}
		h.PayloadType = to.audio.PayloadType
		if l.taps.active() {
			l.taps.out(l.decodeSent(scratch, to.audio, payload))
		}
	case from.hasDTMF && h.PayloadType == from.dtmf.PayloadType && to.hasDTMF:
		h.PayloadType = to.dtmf.PayloadType
		if from.audio.ClockRate != to.audio.ClockRate || from.dtmf.ClockRate != to.dtmf.ClockRate {
			l.mapDTMF(pkt, h, payload, from, to)
		}
	default:
		dropPayloadType.Inc()
		return
	}
	pkt[1] = pkt[1]&0x80 | h.PayloadType
	if l.writeRTP(st, pkt) {
		metricRelayed.Inc()
	}
}

// writeRTP sends a plaintext RTP packet to the remote, encrypting it first
// on an SRTP leg.
func (l *Leg) writeRTP(st *legState, pkt []byte) bool {
	r := l.rtpRemote.Load()
	if r == nil || !r.IsValid() || r.Addr().IsUnspecified() {
		return false
	}
	var err error
	if st.srtp != nil {
		l.txMu.Lock()
		if l.txBuf == nil {
			l.txBuf = make([]byte, 0, maxPacket)
		}
		var out []byte
		out, err = st.srtp.txRTP.EncryptRTP(l.txBuf[:0], pkt, nil)
		if err == nil {
			_, err = l.rtp.WriteToUDPAddrPort(out, *r)
		}
		l.txMu.Unlock()
	} else {
		_, err = l.rtp.WriteToUDPAddrPort(pkt, *r)
	}
	if err != nil {
		dropSend.Inc()
		return false
	}
	return true
}

// readRTCP relays RTCP between bridged legs (decrypting and re-encrypting
// across SRTP boundaries); on a leg we terminate it notes the remote's
// sender reports for our own (rtcp.go).
func (l *Leg) readRTCP() {
	defer l.wg.Done()
	bufs := rxPool.Get().(*rxBuffers)
	defer rxPool.Put(bufs)
	buf, plain := bufs.buf, bufs.plain
	for {
		n, src, err := l.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		st := l.st.Load()
		if st == nil || n < 8 {
			dropMalformed.Inc()
			continue
		}
		pkt := buf[:n]
		if st.srtp != nil {
			if pkt, err = st.srtp.rxRTCP.DecryptRTCP(plain[:0], buf[:n], nil); err != nil {
				dropSRTP.Inc()
				continue
			}
		} else if pkt[0]>>6 != 2 {
			dropMalformed.Inc()
			continue
		}
		if !l.accept(src, &l.rtcpRemote, &l.rtcpLatched) {
			dropUnlatched.Inc()
			continue
		}
		l.rxPackets.Add(1)
		if p := l.peer.Load(); p != nil {
			p.mapSenderReports(&st.neg, pkt)
			p.writeRTCP(pkt)
		} else {
			l.rx.rtcp(pkt, time.Now())
		}
	}
}

func (l *Leg) writeRTCP(pkt []byte) bool {
	st := l.st.Load()
	r := l.rtcpRemote.Load()
	if st == nil || r == nil || r.Addr().IsUnspecified() {
		return false
	}
	var err error
	if st.srtp != nil {
		l.txMu.Lock()
		if l.txRTCPBuf == nil {
			l.txRTCPBuf = make([]byte, 0, maxPacket)
		}
		var out []byte
		out, err = st.srtp.txRTCP.EncryptRTCP(l.txRTCPBuf[:0], pkt, nil)
		if err == nil {
			_, err = l.rtcp.WriteToUDPAddrPort(out, *r)
		}
		l.txMu.Unlock()
	} else {
		_, err = l.rtcp.WriteToUDPAddrPort(pkt, *r)
	}
	if err != nil {
		dropSend.Inc()
		return false
	}
	return true
}
