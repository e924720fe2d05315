package media

import (
	"context"
	"errors"
	"math"
	"time"
)

// Ringback selects a ringback cadence.
type Ringback int

// Ringback cadences. The default is the North American tone because the
// server mostly fronts US numbers (BXML/Bandwidth); the ETSI one is for
// European deployments.
//
//	RingbackUS   440 Hz + 480 Hz, 2 s on, 4 s off (ANSI T1.401)
//	RingbackETSI 425 Hz,          1 s on, 4 s off (ETSI ES 201 970)
const (
	RingbackUS Ringback = iota
	RingbackETSI
)

// toneSource generates a cadenced sum of sine waves at 8 kHz. Whole-hertz
// tones (every tone we play) read a sine table at a phase that advances by
// f per sample, so the media clock pays a table read per sample, not a
// math.Sin.
type toneSource struct {
	freqs    []float64
	on, off  int // samples
	amp      float64
	n        int
	limitLen int   // total samples, 0 = endless
	phase    []int // per frequency, in table steps (whole-hertz tones)
}

func (t *toneSource) next(frame []int16) bool {
	if t.limitLen > 0 && t.n >= t.limitLen {
		return false
	}
	if t.phase == nil {
		t.phase = make([]int, len(t.freqs))
	}
	period := t.on + t.off
	pos := t.n
	if period > 0 {
		pos = t.n % period
	}
	scale := t.amp / float64(max(len(t.freqs), 1))
	for i := range frame {
		var v float64
		sounding := period == 0 || pos < t.on
		for k, f := range t.freqs {
			fi := int(f)
			if float64(fi) != f || fi <= 0 {
				v += math.Sin(2 * math.Pi * f * float64(t.n) / sampleRate)
				continue
			}
			if sounding {
				v += sineTable[t.phase[k]]
			}
			if t.phase[k] += fi; t.phase[k] >= sampleRate {
				t.phase[k] -= sampleRate
			}
		}
		if !sounding {
			v = 0
		}
		frame[i] = int16(v * scale)
		t.n++
		if pos++; pos == period {
			pos = 0
		}
	}
	return true
}

// sineTable is one period of a sine sampled at 8 kHz: a whole-hertz tone's
// sample n is entry f·n mod 8000.
var sineTable = func() (t [sampleRate]float64) {
	for i := range t {
		t[i] = math.Sin(2 * math.Pi * float64(i) / sampleRate)
	}
	return t
}()

// PlayRingback plays ringback until ctx ends (then returns nil).
func (l *Leg) PlayRingback(ctx context.Context, style Ringback) error {
	src := &toneSource{freqs: []float64{440, 480}, on: 2 * sampleRate, off: 4 * sampleRate, amp: 6000}
	if style == RingbackETSI {
		src = &toneSource{freqs: []float64{425}, on: 1 * sampleRate, off: 4 * sampleRate, amp: 6000}
	}
	err := l.transmit(ctx, src, PlayOptions{})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// PlaySilence sends d of silence (keeping NATs and the remote's jitter
// buffer fed), or until ctx ends.
func (l *Leg) PlaySilence(ctx context.Context, d time.Duration) error {
	return l.transmit(ctx, &toneSource{limitLen: int(d / (time.Second / sampleRate))}, PlayOptions{})
}
