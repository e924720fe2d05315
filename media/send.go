package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

const (
	frameDuration = 20 * time.Millisecond
	frameSamples  = 160 // 20 ms at 8 kHz
	sampleRate    = 8000
)

// sender is the endpoint's own outgoing RTP stream on a leg: one SSRC whose
// sequence numbers and timestamps run on from the answer to the end of the
// call, across verbs and silence. The fields below sem are touched only by
// the media clock's goroutine.
type sender struct {
	// sem admits one piece of work (Play, SendDTMF, ...) at a time.
	sem  chan struct{}
	work atomic.Pointer[sendWork]
	// live is set once the call is answered: from then on the clock sends
	// silence whenever nothing plays.
	live atomic.Bool

	ssrc    uint32
	seq     uint16
	ts      uint32
	started bool
	buf     []byte
	frame   []int16
	payload []byte
	rtcp    rtcpSender
}

func (s *sender) init() {
	var b [10]byte
	_, _ = rand.Read(b[:])
	s.sem = make(chan struct{}, 1)
	s.ssrc = binary.BigEndian.Uint32(b[0:4])
	s.seq = binary.BigEndian.Uint16(b[4:6])
	s.ts = binary.BigEndian.Uint32(b[6:10])
	s.buf = make([]byte, 0, maxPacket)
	s.frame = make([]int16, frameSamples)
	s.payload = make([]byte, 0, maxPacket)
}

// job is what a piece of work sends on one tick. sent reports whether it
// sent a packet (otherwise the tick sends silence on a live leg); done ends
// the work with err.
type job interface {
	step(l *Leg, st *legState) (sent, done bool, err error)
}

// sendWork is a job queued on a leg and the channel its caller waits on.
type sendWork struct {
	job      job
	done     chan error // buffered 1
	finished atomic.Bool
}

func (w *sendWork) finish(err error) {
	if w.finished.CompareAndSwap(false, true) {
		w.done <- err
	}
}

// Activate starts the leg's continuous outgoing stream: from now until it
// closes, every 20 ms the leg sends what plays or, when nothing does,
// silence in its codec, and an RTCP sender report every few seconds (RFC
// 3550). Call it when the call is answered; a bridged leg sends nothing of
// its own (the relay carries the peer's stream).
func (l *Leg) Activate() {
	if l.closed.Load() {
		return
	}
	l.send.live.Store(true)
	l.s.m.clock.add(l)
}

// wantsClock reports whether the leg still needs the media clock.
func (l *Leg) wantsClock() bool {
	return !l.closed.Load() && (l.send.live.Load() || l.send.work.Load() != nil)
}

// perform queues j on the leg's clock and waits until it is done, ctx ends,
// or (with opts.StopOnDTMF) the remote sends a digit.
func (l *Leg) perform(ctx context.Context, j job, opts PlayOptions) error {
	var stop <-chan DTMFEvent
	if opts.StopOnDTMF {
		ch, cancel := l.SubscribeDTMF()
		defer cancel()
		stop = ch
	}
	if err := l.endpointReady(); err != nil {
		return err
	}
	select {
	case l.send.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.send.sem }()
	w := &sendWork{job: j, done: make(chan error, 1)}
	l.send.work.Store(w)
	defer l.send.work.CompareAndSwap(w, nil)
	if l.closed.Load() {
		return ErrClosed // close ran before the Store and finished nothing
	}
	l.s.m.clock.add(l)
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case _, ok := <-stop:
		if ok {
			return ErrInterrupted
		}
		return ErrClosed
	}
}

func (l *Leg) endpointReady() error {
	switch {
	case l.closed.Load():
		return ErrClosed
	case l.peer.Load() != nil:
		return ErrBridged
	case l.st.Load() == nil:
		return ErrNotNegotiated
	}
	return nil
}

// tick sends the leg's frame for one clock tick (clock goroutine only).
// skipped frames (the clock fell behind) advance the timestamp.
func (l *Leg) tick(skipped uint32) {
	s := &l.send
	step := uint32(frameSamples)
	if st := l.st.Load(); st != nil {
		step = st.neg.audio.ticksPerFrame() // 960 for Opus's 48 kHz clock
	}
	s.ts += skipped * step
	w := s.work.Load()
	if err := l.endpointReady(); err != nil {
		if w != nil {
			w.finish(err)
		}
		// A bridged leg keeps its place on the clock, and its timestamps
		// keep time, for when it is unbridged.
		s.ts += step
		return
	}
	st := l.st.Load()
	sent := false
	if w != nil {
		var done bool
		var err error
		sent, done, err = w.job.step(l, st)
		if done {
			s.work.CompareAndSwap(w, nil)
			w.finish(err)
		}
	}
	if !sent && s.live.Load() {
		l.sendSilence(st)
	}
	if s.live.Load() {
		l.rtcpTick()
	}
	s.ts += step
}

// sendSilence sends one frame of silence in the leg's codec.
func (l *Leg) sendSilence(st *legState) {
	c := st.neg.audio
	var fill byte
	switch {
	case c.sameFormat(CodecPCMU):
		fill = g711.UlawSilence
	case c.sameFormat(CodecPCMA):
		fill = g711.AlawSilence
	default:
		frame := l.send.frame
		clear(frame)
		if payload, err := l.encodeFrame(st, frame); err == nil {
			l.sendRTP(c.PayloadType, false, l.send.ts, payload)
		}
		return
	}
	p := l.send.payload[:frameSamples]
	for i := range p {
		p[i] = fill
	}
	l.sendRTP(c.PayloadType, false, l.send.ts, p)
}

// sendAudio encodes one frame in the leg's codec and sends it.
func (l *Leg) sendAudio(st *legState, frame []int16) error {
	payload, err := l.encodeFrame(st, frame)
	if err != nil {
		return err
	}
	l.sendRTP(st.neg.audio.PayloadType, false, l.send.ts, payload)
	if l.taps.active() {
		l.taps.out(frame)
	}
	return nil
}

// encodeFrame encodes one 20 ms frame at 8 kHz in the leg's codec (clock
// goroutine): G.711 directly, others with the leg's stateful encoder.
func (l *Leg) encodeFrame(st *legState, frame []int16) ([]byte, error) {
	c := st.neg.audio
	switch {
	case c.sameFormat(CodecPCMU):
		return g711.EncodeUlawBuf(l.send.payload[:0], frame), nil
	case c.sameFormat(CodecPCMA):
		return g711.EncodeAlawBuf(l.send.payload[:0], frame), nil
	}
	l.tx.mu.Lock()
	defer l.tx.mu.Unlock()
	p, err := l.tx.encode(l.send.payload[:0], c, sampleRate, frame)
	if err != nil {
		return nil, fmt.Errorf("media: encoding %s on leg %s: %w", c.Name, l.name, err)
	}
	return p, nil
}

// sendRTP sends one packet of the endpoint stream (clock goroutine). The
// stream's first packet carries the marker bit (RFC 3551 §4.1).
func (l *Leg) sendRTP(pt uint8, marker bool, ts uint32, payload []byte) {
	st := l.st.Load()
	if st == nil {
		return
	}
	s := &l.send
	if !s.started {
		marker, s.started = true, true
	}
	h := rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: s.seq, Timestamp: ts, SSRC: s.ssrc}
	s.seq++
	n, err := h.MarshalTo(s.buf[:cap(s.buf)])
	if err != nil {
		return
	}
	pkt := append(s.buf[:n], payload...)
	if l.writeRTP(st, pkt) {
		s.rtcp.packets++
		s.rtcp.octets += uint32(len(payload))
	}
}
