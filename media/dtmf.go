package media

import (
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
		Duration: time.Duration(d.dur) * time.Second / sampleRate,
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
	release, err := l.beginSend(ctx)
	if err != nil {
		return err
	}
	defer release()
	pt := st.neg.dtmf.PayloadType
	p := newPacer()
	payload := make([]byte, 4)
	samples := func(d time.Duration) uint32 { return uint32(d / (time.Second / sampleRate)) }
	for _, r := range digits {
		var pause time.Duration
		switch r {
		case 'w':
			pause = 500 * time.Millisecond
		case 'W':
			pause = time.Second
		}
		if pause > 0 {
			if err := sleepFrames(ctx, p, pause); err != nil {
				return err
			}
			l.send.ts += samples(pause)
			continue
		}
		code := byte(strings.IndexRune(dtmfDigits, r))
		frames := int(toneDuration / frameDuration)
		if frames < 1 {
			frames = 1
		}
		ts := l.send.ts
		for i := 0; i < frames; i++ {
			dur := uint16(min((i+1)*frameSamples, 0xffff))
			payload[0], payload[1] = code, 10 // volume -10 dBm0
			binary.BigEndian.PutUint16(payload[2:], dur)
			l.sendRTP(pt, i == 0, ts, payload)
			if err := p.wait(ctx, nil); err != nil {
				return err
			}
		}
		payload[1] |= 0x80 // end bit; sent three times for loss tolerance (RFC 4733 §2.5.1.4)
		for i := 0; i < 3; i++ {
			l.sendRTP(pt, false, ts, payload)
		}
		l.send.ts += samples(toneDuration)
		if err := sleepFrames(ctx, p, interval); err != nil {
			return err
		}
		l.send.ts += samples(interval)
	}
	return nil
}

func sleepFrames(ctx context.Context, p *pacer, d time.Duration) error {
	for i := 0; i < int(d/frameDuration); i++ {
		if err := p.wait(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}
