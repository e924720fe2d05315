package media

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DTMFEvent is one digit detected from RFC 4733 telephone-events.
type DTMFEvent struct {
	Digit    rune          // 0-9 * # A-D
	Duration time.Duration // as reported by the sender
}

const dtmfDigits = "0123456789*#ABCD"

// Default SendDTMF timing, as BXML SendDtmf specifies.
const (
	DefaultToneDuration = 300 * time.Millisecond
	DefaultToneInterval = 100 * time.Millisecond
)

// dtmfDetector turns telephone-event packets into digits. An event is
// identified by its RTP timestamp; it is reported once, on its first end
// packet (the redundant end packets repeat the timestamp and are ignored). If
// every end packet of an event is lost, the event is reported when the next
// one starts.
type dtmfDetector struct {
	clock    uint32 // the telephone-event clock rate; 0 means 8000
	ts       uint32
	code     byte
	dur      uint16
	have     bool
	reported bool
}

// feed takes one telephone-event payload and returns up to two digits (a
// previous event whose end was lost, then this one).
func (d *dtmfDetector) feed(ts uint32, p []byte) (out [2]DTMFEvent, n int) {
	if len(p) < 4 || p[0] > 15 {
		return out, 0
	}
	end := p[1]&0x80 != 0
	dur := binary.BigEndian.Uint16(p[2:4])
	if !d.have || ts != d.ts {
		if d.have && !d.reported {
			out[n] = d.value()
			n++
		}
		d.ts, d.code, d.dur, d.have, d.reported = ts, p[0], 0, true, false
	}
	if dur > d.dur {
		d.dur = dur
	}
	if end && !d.reported {
		d.reported = true
		out[n] = d.value()
		n++
	}
	return out, n
}

func (d *dtmfDetector) value() DTMFEvent {
	return DTMFEvent{
		Digit:    rune(dtmfDigits[d.code]),
		Duration: time.Duration(d.dur) * time.Second / time.Duration(cmp.Or(d.clock, sampleRate)),
	}
}

// dtmfHub fans detected digits out to subscribers.
type dtmfHub struct {
	mu     sync.Mutex
	subs   map[chan DTMFEvent]struct{}
	closed bool
}

func (h *dtmfHub) publish(evs [2]DTMFEvent, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs[:n] {
		metricDTMF.Inc()
		for ch := range h.subs {
			select {
			case ch <- ev:
			default: // a subscriber that does not read loses digits, never blocks media
			}
		}
	}
}

func (h *dtmfHub) subscribe() (chan DTMFEvent, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan DTMFEvent, 32)
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs == nil {
		h.subs = map[chan DTMFEvent]struct{}{}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *dtmfHub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
	}
	h.subs = nil
}

// SubscribeDTMF returns a channel of the digits the remote sends on this leg
// (RFC 4733), from now until cancel is called or the leg closes (then the
// channel is closed). Every subscriber gets every digit; one that does not
// keep up (32 buffered) loses digits rather than stalling media.
func (l *Leg) SubscribeDTMF() (digits <-chan DTMFEvent, cancel func()) {
	return l.dtmf.subscribe()
}

// ValidateDTMF reports whether s holds only characters SendDTMF accepts.
func ValidateDTMF(s string) error {
	for _, r := range s {
		if r != 'w' && r != 'W' && !strings.ContainsRune(dtmfDigits, r) {
			return fmt.Errorf("%w: %q", ErrBadDigits, r)
		}
	}
	return nil
}

// SendDTMF sends digits as RFC 4733 telephone-events, as BXML SendDtmf does:
// each digit lasts toneDuration and is followed by interval of quiet; 'w'
// pauses 500 ms and 'W' one second. Zero durations take the defaults
// (300 ms, 100 ms). The leg must have negotiated telephone-event.
func (l *Leg) SendDTMF(ctx context.Context, digits string, toneDuration, interval time.Duration) error {
	if err := ValidateDTMF(digits); err != nil {
		return err
	}
	if toneDuration <= 0 {
		toneDuration = DefaultToneDuration
	}
	if interval <= 0 {
		interval = DefaultToneInterval
	}
	st := l.st.Load()
	if st != nil && !st.neg.hasDTMF {
		return fmt.Errorf("media: leg %s did not negotiate telephone-event: %w", l.name, ErrCodecUnsupported)
	}
	return l.perform(ctx, newDTMFJob(digits, toneDuration, interval), PlayOptions{})
}

// dtmfJob sends digits as telephone-events on the media clock. Between
// digits and during pauses it sends nothing itself, so a live leg's
// stream carries silence there.
type dtmfJob struct {
	digits        []byte
	tone, gap     int // frames
	i             int // digit being sent
	frame         int // frames of it sent so far; then counts the gap
	ts            uint32
	pause         int // frames left of a 'w'/'W' pause
	payload       [4]byte
	inTone, inGap bool
}

func newDTMFJob(digits string, toneDuration, interval time.Duration) *dtmfJob {
	return &dtmfJob{
		digits: []byte(digits),
		tone:   max(int(toneDuration/frameDuration), 1),
		gap:    int(interval / frameDuration),
	}
}

func (j *dtmfJob) step(l *Leg, st *legState) (sent, done bool, err error) {
	if !st.neg.hasDTMF { // renegotiated away mid-way
		return false, true, fmt.Errorf("media: leg %s did not negotiate telephone-event: %w", l.name, ErrCodecUnsupported)
	}
	for {
		switch {
		case j.pause > 0:
			j.pause--
			return false, false, nil
		case j.inTone:
			return j.toneFrame(l, st), false, nil
		case j.inGap:
			if j.frame < j.gap {
				j.frame++
				return false, false, nil
			}
			j.inGap = false
			j.i++
		case j.i >= len(j.digits):
			return false, true, nil
		default:
			switch r := j.digits[j.i]; r {
			case 'w', 'W':
				j.pause = int(500 * time.Millisecond / frameDuration)
				if r == 'W' {
					j.pause *= 2
				}
				j.i++
			default:
				j.inTone, j.frame, j.ts = true, 0, l.send.ts
				j.payload = [4]byte{byte(strings.IndexByte(dtmfDigits, r)), 10} // volume -10 dBm0
			}
		}
	}
}

// toneFrame sends the event's next update; the last one is followed by the
// end packet, sent three times for loss tolerance (RFC 4733 §2.5.1.4).
func (j *dtmfJob) toneFrame(l *Leg, st *legState) bool {
	pt := st.neg.dtmf.PayloadType
	j.frame++
	binary.BigEndian.PutUint16(j.payload[2:], uint16(min(uint32(j.frame)*st.neg.dtmf.ticksPerFrame(), 0xffff)))
	l.sendRTP(pt, j.frame == 1, j.ts, j.payload[:])
	if j.frame < j.tone {
		return true
	}
	j.payload[1] |= 0x80
	for range 3 {
		l.sendRTP(pt, false, j.ts, j.payload[:])
	}
	j.inTone, j.inGap, j.frame = false, true, 0
	return true
}
