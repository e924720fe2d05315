package media

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// RTCP on legs the endpoint terminates (RFC 3550 §6): a sender report with a
// reception report block every few seconds, built from what the leg
// received. Bridged legs relay the peers' own RTCP instead.

// DefaultRTCPInterval is the RFC 3550 minimum report interval; each report
// is scheduled at a random 0.5–1.5 times the interval (§6.2).
const DefaultRTCPInterval = 5 * time.Second

// nextReportTicks draws the ticks until a leg's next report.
func nextReportTicks(interval time.Duration) int {
	n := max(int(interval/frameDuration), 1)
	return max(n/2+rand.IntN(n), 1)
}

// rxStats is what the leg's RTP and RTCP readers learn about the remote's
// stream, for the reception report (RFC 3550 A.1, A.8). The readers update
// it only while the leg is not bridged.
type rxStats struct {
	mu sync.Mutex
	rxStream
}

// rxStream is the state of one remote SSRC.
type rxStream struct {
	have     bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	received uint32
	// jitter is the interarrival jitter in timestamp units, scaled by 16
	// as in RFC 3550 A.8, so the running estimate needs no floats.
	jitter      uint32
	lastTransit int64
	haveTransit bool
	// lastSR is the middle of the NTP timestamp of the remote's last sender
	// report and lastSRAt when it arrived (LSR and DLSR).
	lastSR   uint32
	lastSRAt time.Time
	epoch    time.Time
}

// maxDropout and maxMisorder are RFC 3550 A.1's bounds for a sequence
// number still taken as part of the stream.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// rtp accounts one RTP packet; audio packets also feed the jitter estimate
// (telephone-events carry their event's start as timestamp).
func (r *rxStats) rtp(h *rtp.Header, audio bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.have || h.SSRC != r.ssrc {
		r.rxStream = rxStream{have: true, ssrc: h.SSRC, baseSeq: uint32(h.SequenceNumber), maxSeq: h.SequenceNumber,
			epoch: now, lastSR: r.lastSR, lastSRAt: r.lastSRAt}
	}
	switch d := h.SequenceNumber - r.maxSeq; {
	case d < maxDropout:
		if h.SequenceNumber < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = h.SequenceNumber
	case d <= 1<<16-maxMisorder:
		// A jump this large is a restarted stream: count from here.
		r.baseSeq, r.maxSeq, r.cycles, r.received = uint32(h.SequenceNumber), h.SequenceNumber, 0, 0
		r.haveTransit = false
	}
	r.received++
	if !audio {
		return
	}
	arrival := int64(now.Sub(r.epoch) / (time.Second / sampleRate))
	transit := arrival - int64(h.Timestamp)
	if r.haveTransit {
		d := transit - r.lastTransit
		if d < 0 {
			d = -d
		}
		r.jitter += uint32(d) - (r.jitter+8)>>4
	}
	r.lastTransit, r.haveTransit = transit, true
}

// rtcp takes note of the remote's sender reports.
func (r *rxStats) rtcp(pkt []byte, now time.Time) {
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		return
	}
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok {
			r.mu.Lock()
			r.lastSR, r.lastSRAt = uint32(sr.NTPTime>>16), now
			r.mu.Unlock()
			metricRTCPReceived.Inc()
		}
	}
}

// rtcpSender is the clock goroutine's side: counts for the sender report and
// the previous report's totals for the fraction lost.
type rtcpSender struct {
	due                          int // ticks until the next report
	packets, octets              uint32
	expectedPrior, receivedPrior uint32
}

// report builds the reception report block; false before any RTP arrived.
func (r *rxStats) report(s *rtcpSender, now time.Time) (rtcp.ReceptionReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.have {
		return rtcp.ReceptionReport{}, false
	}
	extMax := r.cycles + uint32(r.maxSeq)
	expected := extMax - r.baseSeq + 1
	lost := int64(expected) - int64(r.received)
	lost = max(min(lost, 0x7fffff), -0x800000) // 24-bit signed
	expInterval := expected - s.expectedPrior
	recvInterval := r.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, r.received
	var fraction uint8
	if lostInterval := int64(expInterval) - int64(recvInterval); expInterval != 0 && lostInterval > 0 {
		fraction = uint8(lostInterval << 8 / int64(expInterval))
	}
	rr := rtcp.ReceptionReport{
		SSRC:               r.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xffffff,
		LastSequenceNumber: extMax,
		Jitter:             r.jitter >> 4,
	}
	if !r.lastSRAt.IsZero() {
		rr.LastSenderReport = r.lastSR
		rr.Delay = uint32(now.Sub(r.lastSRAt) * 65536 / time.Second)
	}
	return rr, true
}

// rtcpTick sends the leg's report when it is due (clock goroutine).
func (l *Leg) rtcpTick() {
	s := &l.send
	if s.rtcp.due--; s.rtcp.due > 0 {
		return
	}
	s.rtcp.due = nextReportTicks(l.s.m.cfg.RTCPInterval)
	now := time.Now()
	sr := &rtcp.SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.ts,
		PacketCount: s.rtcp.packets,
		OctetCount:  s.rtcp.octets,
	}
	if rr, ok := l.rx.report(&s.rtcp, now); ok {
		sr.Reports = []rtcp.ReceptionReport{rr}
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: s.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: l.cname()}},
	}}}
	pkt, err := rtcp.Marshal([]rtcp.Packet{sr, sdes})
	if err != nil {
		l.log.Debug("rtcp report", "error", err)
		return
	}
	if l.writeRTCP(pkt) {
		metricRTCPSent.Inc()
	}
}

// cname is the leg's RTCP canonical name: random per stream (RFC 7022), as
// the SSRC already is.
func (l *Leg) cname() string { return fmt.Sprintf("wasmvoice-%08x", l.send.ssrc) }

// ntpTime is t as a 64-bit NTP timestamp (seconds since 1900, 32.32 fixed).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
