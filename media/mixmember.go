package media

import (
	"context"
	"sync"
	"sync/atomic"
)

// Member is one leg in a conference room. Its inbound audio comes from the
// leg's tap into a small jitter buffer; its outbound audio is the frame the
// room mixed for it this tick, sent by the leg's own place on the clock.
type Member struct {
	mx    *Mixer
	leg   *Leg
	key   string
	flags atomic.Uint32
	// coaching is set at join and by SetCoaching under mx.mu; nil when the
	// member coaches nobody. The clock reads it through the plan.
	coaching []string

	in   jitterBuffer
	left chan struct{}
	once sync.Once

	// Clock goroutine only.
	frame []int16 // this tick's inbound audio
	heard bool    // frame counts this tick
	held  bool    // on hold this tick
	acc   []int32 // what the member hears, before clipping
	out   []int16
	ready atomic.Bool // out holds this tick's audio (false: on hold)
}

const (
	flagMute uint32 = 1 << iota
	flagHold
)

func (mb *Member) flag(f uint32) bool { return mb.flags.Load()&f != 0 }

func (mb *Member) set(f uint32, on bool) {
	for {
		old := mb.flags.Load()
		next := old &^ f
		if on {
			next |= f
		}
		if mb.flags.CompareAndSwap(old, next) {
			return
		}
	}
}

// Key is the key the member joined under.
func (mb *Member) Key() string { return mb.key }

// SetMute mutes or unmutes the member: muted, it still hears the room.
func (mb *Member) SetMute(on bool) { mb.set(flagMute, on) }

// SetHold holds or resumes the member: held, it hears nothing and is not
// heard.
func (mb *Member) SetHold(on bool) { mb.set(flagHold, on) }

// Muted and Held report the member's state.
func (mb *Member) Muted() bool { return mb.flag(flagMute) }

// Held reports whether the member is on hold.
func (mb *Member) Held() bool { return mb.flag(flagHold) }

// SetCoaching makes the member a coach of the members with these keys
// (heard only by them), or with nil a normal member again. Keys of calls
// that join later take effect when they join.
func (mb *Member) SetCoaching(keys []string) {
	mx := mb.mx
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if keys == nil {
		mb.coaching = nil
	} else {
		mb.coaching = append([]string{}, keys...)
	}
	mx.replanLocked()
}

// Coaching returns the keys the member coaches (nil: none).
func (mb *Member) Coaching() []string {
	mx := mb.mx
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mb.coaching == nil {
		return nil
	}
	return append([]string{}, mb.coaching...)
}

// Left is closed once the member has left the room.
func (mb *Member) Left() <-chan struct{} { return mb.left }

// Leave removes the member from the room; Run returns.
func (mb *Member) Leave() {
	mb.once.Do(func() {
		mb.leg.taps.remove(mb)
		mb.mx.leave(mb)
		close(mb.left)
	})
}

// Run sends the room's audio to the member's leg until ctx ends or the
// member leaves, and then leaves. The leg's endpoint is the room's for that
// time: other playback on the leg waits.
func (mb *Member) Run(ctx context.Context) error {
	defer mb.Leave()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-mb.left:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := mb.leg.perform(ctx, &memberJob{mb: mb}, PlayOptions{})
	select {
	case <-mb.left:
		return nil
	default:
	}
	return err
}

// push is the leg's tap: audio received from the member's remote.
func (mb *Member) push(dir int, pcm []int16) {
	if dir == 0 {
		mb.in.push(pcm)
	}
}

// memberJob sends the member's mixed frame each tick; on hold the leg
// sends silence.
type memberJob struct{ mb *Member }

func (j *memberJob) step(l *Leg, st *legState) (sent, done bool, err error) {
	mb := j.mb
	select {
	case <-mb.left:
		return false, true, nil
	default:
	}
	if !mb.ready.Load() {
		return false, false, nil
	}
	if err := l.sendAudio(st, mb.out); err != nil {
		return false, true, err
	}
	return true, false, nil
}

// jitterBuffer holds a member's inbound audio between the packet path and
// the clock. It absorbs packets that arrive early, late or bunched: after
// running dry it waits for two frames before it plays again, and it keeps
// at most jitterFrames (older audio is dropped, bounding the delay). A tick
// that finds nothing plays silence; nothing here ever blocks the clock.
type jitterBuffer struct {
	mu     sync.Mutex
	buf    [jitterFrames * frameSamples]int16
	r, n   int
	primed bool
}

const (
	jitterFrames = 6 // 120 ms
	primeFrames  = 2
)

func (j *jitterBuffer) push(pcm []int16) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(pcm) > len(j.buf) {
		pcm = pcm[len(pcm)-len(j.buf):]
	}
	if over := j.n + len(pcm) - len(j.buf); over > 0 {
		j.r = (j.r + over) % len(j.buf)
		j.n -= over
	}
	w := (j.r + j.n) % len(j.buf)
	n := copy(j.buf[w:], pcm)
	copy(j.buf[:], pcm[n:])
	j.n += len(pcm)
}

// pop fills dst with the next frame; false (dst untouched) when there is
// none to play this tick.
func (j *jitterBuffer) pop(dst []int16) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.primed {
		if j.n < primeFrames*frameSamples {
			return false
		}
		j.primed = true
	}
	if j.n < len(dst) {
		j.primed = false
		return false
	}
	n := copy(dst, j.buf[j.r:])
	copy(dst[n:], j.buf[:])
	j.r = (j.r + len(dst)) % len(j.buf)
	j.n -= len(dst)
	return true
}
