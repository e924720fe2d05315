package media

import (
	"encoding/binary"
	"sync"

	"github.com/pion/rtp"
)

// needTranscode reports whether audio from a leg with codec a must be
// decoded and encoded again for a leg with codec b: they are different
// formats, and not both G.711 (μ-law and A-law convert byte by byte).
func needTranscode(a, b Codec) bool {
	return !a.sameFormat(b) && !(a.isG711() && b.isG711())
}

// pivotRate is the PCM rate a bridge between codecs a and b transcodes
// through: 16 kHz when both are wideband (G.722, Opus), so 4-7 kHz survive,
// else the 8 kHz of everything else in the server.
func pivotRate(a, b Codec) int {
	wide := func(c Codec) bool { return c.sameFormat(CodecG722) || c.sameFormat(CodecOpus) }
	if wide(a) && wide(b) {
		return 16000
	}
	return sampleRate
}

// sameCodec is sameFormat with the same fmtp too: an Opus encoder follows
// the receiver's fmtp, so a change of it means a new encoder.
func sameCodec(a, b Codec) bool { return a.sameFormat(b) && a.Fmtp == b.Fmtp }

// rxDecoder decodes the audio a leg receives to PCM (8 kHz, or 16 kHz for
// a wideband bridge), for its taps and for a peer that transcodes. Only the
// leg's RTP reader goroutine uses it.
type rxDecoder struct {
	codec Codec
	rate  int
	dec   PCMDecoder
	err   error // the codec cannot be decoded
}

// decode appends one payload's samples at rate to dst; a codec we cannot
// decode (or a corrupt payload) yields 20 ms of silence so recordings keep
// their timing, and false.
func (r *rxDecoder) decode(dst []int16, c Codec, rate int, payload []byte) ([]int16, bool) {
	if (r.dec == nil && r.err == nil) || !sameCodec(r.codec, c) || r.rate != rate {
		r.close()
		r.codec, r.rate = c, rate
		r.dec, r.err = NewPCMDecoder(c, rate)
	}
	if r.dec != nil {
		out, err := r.dec.Decode(dst, payload)
		if err == nil {
			return out, true
		}
		dropCodec.Inc()
	}
	return append(dst, make([]int16, rate/50)...), false
}

func (r *rxDecoder) close() {
	if r.dec != nil {
		r.dec.Close()
	}
	r.dec, r.err = nil, nil
}

// txCodec is the codec state of what a leg sends: the encoder that the
// endpoint (clock goroutine) and a transcoding relay (the peer's reader
// goroutine) share, a decoder of what is relayed untouched (for the leg's
// taps), and the timestamp mapping of a transcoded stream. mu guards all;
// it is taken before Leg.txMu, never after.
type txCodec struct {
	mu       sync.Mutex
	closed   bool
	encCodec Codec
	encRate  int
	enc      PCMEncoder
	dec      rxDecoder
	pkt      []byte
	payload  []byte
	ts       tsMap
	// tapDown brings a wideband bridge's 16 kHz audio to the taps' 8 kHz.
	tapDown halfband
	tapPCM  []int16
}

// encode appends pcm at rate Hz encoded in c to dst (mu held).
func (t *txCodec) encode(dst []byte, c Codec, rate int, pcm []int16) ([]byte, error) {
	if t.closed {
		return dst, ErrClosed
	}
	if t.enc == nil || !sameCodec(t.encCodec, c) || t.encRate != rate {
		if t.enc != nil {
			t.enc.Close()
			t.enc = nil
		}
		enc, err := NewPCMEncoder(c, rate)
		if err != nil {
			return dst, err
		}
		t.enc, t.encCodec, t.encRate = enc, c, rate
	}
	return t.enc.Encode(dst, pcm)
}

func (t *txCodec) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.enc != nil {
		t.enc.Close()
		t.enc = nil
	}
	t.dec.close()
}

// tsMap carries a relayed stream's RTP timestamps from one clock rate to
// another (8 kHz PCMU to 48 kHz Opus): relative to a base point, rebased
// long before the 32-bit difference could wrap.
type tsMap struct {
	have            bool
	ssrc            uint32
	from, to        uint32
	baseIn, baseOut uint32
}

func (m *tsMap) mapTS(ssrc, ts, from, to uint32) uint32 {
	if !m.have || ssrc != m.ssrc || from != m.from || to != m.to {
		*m = tsMap{have: true, ssrc: ssrc, from: from, to: to, baseIn: ts, baseOut: ts}
		return ts
	}
	d := int64(int32(ts - m.baseIn))
	out := m.baseOut + uint32(d*int64(to)/int64(from))
	if d > 1<<30 || d < -(1<<30) {
		m.baseIn, m.baseOut = ts, out
	}
	return out
}

// relayTranscoded sends audio from the peer, decoded to pcm at rate Hz, to
// this leg in its own codec: the peer's SSRC and sequence numbers, its
// timestamps in this leg's clock.
func (l *Leg) relayTranscoded(st *legState, from *negotiated, h *rtp.Header, pcm []int16, rate int) {
	to := &st.neg
	t := &l.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	payload, err := t.encode(t.payload[:0], to.audio, rate, pcm)
	if err != nil {
		dropCodec.Inc()
		return
	}
	t.payload = payload
	out := rtp.Header{
		Version: 2, PayloadType: to.audio.PayloadType, Marker: h.Marker,
		SequenceNumber: h.SequenceNumber, SSRC: h.SSRC,
		Timestamp: t.ts.mapTS(h.SSRC, h.Timestamp, from.audio.ClockRate, to.audio.ClockRate),
	}
	if t.pkt == nil {
		t.pkt = make([]byte, 0, maxPacket)
	}
	n, err := out.MarshalTo(t.pkt[:cap(t.pkt)])
	if err == nil && l.writeRTP(st, append(t.pkt[:n], payload...)) {
		metricRelayed.Inc()
		metricTranscoded.Inc()
	}
	if l.taps.active() {
		if rate != sampleRate {
			t.tapPCM = t.tapDown.down(t.tapPCM[:0], pcm)
			pcm = t.tapPCM
		}
		l.taps.out(pcm)
	}
}

// mapDTMF carries a relayed telephone-event across clock rates in place: its
// timestamp on the same map as the transcoded audio it goes with, and the
// event durations in the destination's telephone-event clock.
func (l *Leg) mapDTMF(pkt []byte, h *rtp.Header, payload []byte, from, to *negotiated) {
	t := &l.tx
	t.mu.Lock()
	ts := t.ts.mapTS(h.SSRC, h.Timestamp, from.audio.ClockRate, to.audio.ClockRate)
	t.mu.Unlock()
	binary.BigEndian.PutUint32(pkt[4:8], ts)
	if from.dtmf.ClockRate == to.dtmf.ClockRate || from.dtmf.ClockRate == 0 {
		return
	}
	for i := 0; i+4 <= len(payload); i += 4 {
		d := uint64(binary.BigEndian.Uint16(payload[i+2:])) * uint64(to.dtmf.ClockRate) / uint64(from.dtmf.ClockRate)
		binary.BigEndian.PutUint16(payload[i+2:], uint16(min(d, 0xffff)))
	}
}

// decodeSent decodes a payload relayed untouched to this leg, for its taps.
func (l *Leg) decodeSent(dst []int16, c Codec, payload []byte) []int16 {
	t := &l.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return dst
	}
	out, _ := t.dec.decode(dst, c, sampleRate, payload)
	return out
}

// mapSenderReports moves the RTP timestamps of the sender reports in a
// compound RTCP packet relayed to this leg into its clock, on the map of the
// transcoded audio they describe, when the bridge changes clock rate (PCMU to
// Opus): the receiver relates them to the packets it gets. pkt is modified in
// place.
func (l *Leg) mapSenderReports(from *negotiated, pkt []byte) {
	st := l.st.Load()
	if st == nil || st.neg.audio.ClockRate == from.audio.ClockRate || !needTranscode(from.audio, st.neg.audio) {
		return
	}
	const typeSR, srMinLen = 200, 28
	for off := 0; off+8 <= len(pkt); {
		n := (int(binary.BigEndian.Uint16(pkt[off+2:])) + 1) * 4
		if off+n > len(pkt) {
			return
		}
		if pkt[off+1] == typeSR && n >= srMinLen {
			ssrc := binary.BigEndian.Uint32(pkt[off+4:])
			l.tx.mu.Lock()
			ts := l.tx.ts.mapTS(ssrc, binary.BigEndian.Uint32(pkt[off+16:]), from.audio.ClockRate, st.neg.audio.ClockRate)
			l.tx.mu.Unlock()
			binary.BigEndian.PutUint32(pkt[off+16:], ts)
		}
		off += n
	}
}
