package media

import (
	"slices"
	"sync"
	"time"
)

// clock is a Manager's media clock: one goroutine that, every 20 ms on an
// absolute grid, gives each leg it serves one frame: what is playing (Play,
// Speak, tones, DTMF) or, on an answered leg, silence. One goroutine for
// every leg instead of a timer per playback keeps the cost per frame to the
// send itself, and makes the outgoing stream continuous: peers with RTP
// timeouts, jitter buffers and NATs see a packet every 20 ms whether a verb
// plays or the call waits in a Gather.
//
// The goroutine runs while some leg needs it and exits when none does; add
// starts it again. Only the clock goroutine touches a leg's sender state.
type clock struct {
	mu      sync.Mutex
	legs    []*Leg // guarded by mu; Leg.clocked says whether a leg is here
	running bool
	batch   []*Leg // the clock goroutine's copy of legs for one tick
	// mixers are the conference rooms with members (guarded by mu): each
	// tick mixes every room before any leg sends, so a member's frame of
	// this tick is ready when its leg's turn comes.
	mixers []*Mixer
	mixing []*Mixer // the clock goroutine's copy of mixers for one tick
}

// maxLag is how far behind the grid the clock may fall (CPU starvation)
// before it re-anchors instead of sending a burst of late frames.
const maxLag = 5 * frameDuration

// add puts l on the clock (idempotent) and starts the clock if needed.
func (c *clock) add(l *Leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.clocked {
		return
	}
	l.clocked = true
	c.legs = append(c.legs, l)
	if !c.running {
		c.running = true
		go c.run()
	}
}

// addMixer puts a room on the clock (idempotent); its members' legs keep
// the clock running.
func (c *clock) addMixer(mx *Mixer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.mixers, mx) {
		c.mixers = append(c.mixers, mx)
	}
}

// removeMixer takes a room off the clock.
func (c *clock) removeMixer(mx *Mixer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.mixers, mx); i >= 0 {
		c.mixers = slices.Delete(c.mixers, i, i+1)
	}
}

// serving returns the rooms and legs for this tick, dropping legs that no
// longer need the clock; false when no leg is left (the goroutine then
// exits).
func (c *clock) serving() ([]*Mixer, []*Leg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := c.legs[:0]
	for _, l := range c.legs {
		if l.wantsClock() {
			keep = append(keep, l)
		} else {
			l.clocked = false
		}
	}
	clear(c.legs[len(keep):])
	c.legs = keep
	if len(keep) == 0 {
		c.running = false
		c.batch = c.batch[:0:0]
		c.mixing = c.mixing[:0:0]
		return nil, nil, false
	}
	c.batch = append(c.batch[:0], keep...)
	c.mixing = append(c.mixing[:0], c.mixers...)
	return c.mixing, c.batch, true
}

func (c *clock) run() {
	start := time.Now()
	n := 0
	t := time.NewTimer(frameDuration)
	defer t.Stop()
	for {
		<-t.C
		n++
		var skipped uint32
		if late := time.Since(start.Add(time.Duration(n) * frameDuration)); late > maxLag {
			// Frames not sent still pass on the receiver's clock: the
			// timestamps jump by the gap, the sequence numbers do not.
			skipped = uint32(late / frameDuration)
			start, n = time.Now(), 0
		}
		mixers, legs, ok := c.serving()
		if !ok {
			return
		}
		for _, mx := range mixers {
			mx.mix()
		}
		for _, l := range legs {
			l.tick(skipped)
		}
		t.Reset(time.Until(start.Add(time.Duration(n+1) * frameDuration)))
	}
}
