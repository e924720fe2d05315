package media

import (
	"sync"
	"sync/atomic"
)

// Feed is audio pushed from outside the call (a bidirectional media
// stream's playAudio) for the leg's endpoint to send. The media clock takes
// one frame per tick from it when no verb plays, instead of silence, so it
// costs no timer or goroutine of its own, and a prompt (Speak, Play) a verb
// plays takes precedence over it. Push never blocks: audio beyond the
// feed's capacity is dropped and counted.
type Feed struct {
	mu      sync.Mutex
	buf     []int16 // buf[head:] is waiting
	head    int
	max     int
	dropped atomic.Uint64 // samples refused because the feed was full
}

// NewFeed holds up to maxSamples samples (8 kHz) waiting to be sent.
func NewFeed(maxSamples int) *Feed {
	return &Feed{max: maxSamples}
}

// Push queues 8 kHz samples. It returns how many it refused because the
// feed was full (they are counted in Dropped).
func (f *Feed) Push(pcm []int16) (dropped int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	room := f.max - (len(f.buf) - f.head)
	if room < len(pcm) {
		dropped = len(pcm) - max(room, 0)
		pcm = pcm[:max(room, 0)]
	}
	if f.head > 0 && f.head >= len(f.buf)/2 {
		// Compact instead of growing: what waits moves to the front.
		n := copy(f.buf, f.buf[f.head:])
		f.buf, f.head = f.buf[:n], 0
	}
	f.buf = append(f.buf, pcm...)
	if dropped > 0 {
		f.dropped.Add(uint64(dropped))
		metricFeedDropped.Add(float64(dropped))
	}
	return dropped
}

// Clear drops what waits (a stream's "clear": the agent was interrupted).
func (f *Feed) Clear() {
	f.mu.Lock()
	f.buf, f.head = f.buf[:0], 0
	f.mu.Unlock()
}

// Buffered is how many samples wait.
func (f *Feed) Buffered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.buf) - f.head
}

// Dropped is how many samples Push refused so far.
func (f *Feed) Dropped() uint64 { return f.dropped.Load() }

// next fills frame from the feed, padding a short last piece with silence;
// false when nothing waits.
func (f *Feed) next(frame []int16) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.head >= len(f.buf) {
		return false
	}
	n := copy(frame, f.buf[f.head:])
	clear(frame[n:])
	f.head += n
	if f.head == len(f.buf) {
		f.buf, f.head = f.buf[:0], 0
	}
	return true
}

// SetFeed makes the leg's endpoint send f's audio whenever no verb plays
// (nil removes it). It returns false when another feed is attached: one
// source of outside audio per leg, so two streams never interleave frames.
func (l *Leg) SetFeed(f *Feed) bool {
	if f == nil {
		l.feed.Store(nil)
		return true
	}
	return l.feed.CompareAndSwap(nil, f)
}

// RemoveFeed detaches f if it is the leg's feed.
func (l *Leg) RemoveFeed(f *Feed) { l.feed.CompareAndSwap(f, nil) }

// playFeed sends one frame from the leg's feed (clock goroutine); false
// when there is none or it is empty.
func (l *Leg) playFeed(st *legState) bool {
	f := l.feed.Load()
	if f == nil || !f.next(l.send.frame) {
		return false
	}
	return l.sendAudio(st, l.send.frame) == nil
}

// Listen calls fn with each frame of audio on the leg, decoded to 8 kHz
// PCM: out is false for what the remote sent, true for what the leg sent it
// (played by the endpoint or relayed from a bridged peer). Like
// ListenReceived, fn runs on the packet path and must be quick, must not
// block and must not keep pcm. ok is false when the endpoint cannot decode
// the leg's codec.
func (l *Leg) Listen(fn func(out bool, pcm []int16)) (stop func(), ok bool) {
	if c, neg := l.Codec(); !neg || !c.Transcodable() {
		return func() {}, false
	}
	x := &bothListener{fn: fn}
	l.taps.add(x)
	return func() { l.taps.remove(x) }, true
}

type bothListener struct{ fn func(out bool, pcm []int16) }

func (b *bothListener) push(dir int, pcm []int16) { b.fn(dir == 1, pcm) }
