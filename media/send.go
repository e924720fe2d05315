package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

const (
	frameDuration = 20 * time.Millisecond
	frameSamples  = 160 // 20 ms at 8 kHz
	sampleRate    = 8000
)

// sender is the endpoint's own outgoing RTP stream on a leg. One burst
// (Play, SendDTMF, ...) holds sem at a time; the fields are touched only by
// the holder.
type sender struct {
	sem  chan struct{}
	ssrc uint32
	seq  uint16
	ts   uint32
	last time.Time
	buf  []byte
}

func (s *sender) init() {
	var b [10]byte
	_, _ = rand.Read(b[:])
	s.sem = make(chan struct{}, 1)
	s.ssrc = binary.BigEndian.Uint32(b[0:4])
	s.seq = binary.BigEndian.Uint16(b[4:6])
	s.ts = binary.BigEndian.Uint32(b[6:10])
	s.buf = make([]byte, 0, maxPacket)
}

// beginSend takes the leg's sender for one burst. The timestamp is advanced
// by the wall-clock gap since the previous burst, so the receiver's clock
// stays consistent across pauses. The returned release must be called.
func (l *Leg) beginSend(ctx context.Context) (release func(), err error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if l.peer.Load() != nil {
		return nil, ErrBridged
	}
	st := l.st.Load()
	if st == nil {
		return nil, ErrNotNegotiated
	}
	select {
	case l.send.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !l.send.last.IsZero() {
		gap := time.Since(l.send.last)
		l.send.ts += uint32(gap / (time.Second / sampleRate))
	}
	return func() { <-l.send.sem }, nil
}

// sendRTP sends one packet of the endpoint stream (sem held).
func (l *Leg) sendRTP(pt uint8, marker bool, ts uint32, payload []byte) {
	st := l.st.Load()
	if st == nil {
		return
	}
	h := rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: l.send.seq, Timestamp: ts, SSRC: l.send.ssrc}
	l.send.seq++
	n, err := h.MarshalTo(l.send.buf[:cap(l.send.buf)])
	if err != nil {
		return
	}
	pkt := append(l.send.buf[:n], payload...)
	l.writeRTP(st, pkt)
	l.send.last = time.Now()
}

// encode appends the payload for one frame in the leg's codec.
func encode(dst []byte, c Codec, pcm []int16) ([]byte, bool) {
	switch {
	case c.sameFormat(CodecPCMU):
		return g711.EncodeUlawBuf(dst, pcm), true
	case c.sameFormat(CodecPCMA):
		return g711.EncodeAlawBuf(dst, pcm), true
	}
	return dst, false
}

// pacer schedules frames on an absolute 20 ms grid, so timer jitter does not
// accumulate into drift.
type pacer struct {
	start time.Time
	n     int
	t     *time.Timer
}

func newPacer() *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{start: time.Now(), t: t}
}

// wait blocks until the next frame is due. After a stall of more than a few
// frames (CPU starvation) it re-anchors instead of sending a burst.
func (p *pacer) wait(ctx context.Context, stop <-chan DTMFEvent) error {
	p.n++
	due := p.start.Add(time.Duration(p.n) * frameDuration)
	d := time.Until(due)
	if d < -5*frameDuration {
		p.start, p.n = time.Now(), 0
		d = 0
	}
	if d <= 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-stop:
			if ok {
				return ErrInterrupted
			}
			return ErrClosed
		default:
			return nil
		}
	}
	p.t.Reset(d)
	select {
	case <-ctx.Done():
		p.t.Stop()
		return ctx.Err()
	case _, ok := <-stop:
		p.t.Stop()
		if ok {
			return ErrInterrupted
		}
		return ErrClosed
	case <-p.t.C:
		return nil
	}
}
