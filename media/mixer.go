package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Mixer is one conference room's audio. Every tick of the manager's media
// clock it mixes the room once, before any leg sends: each member hears the
// sum of the others (N-1 mixing at 8 kHz in int32, clipped once to int16),
// plus what the room plays and what its coaches tell it. A muted member is
// heard by nobody, a held member hears nothing and is heard by nobody, and a
// coach (a member with coaching targets) is heard only by the members it
// coaches while it hears everyone. Members may speak μ-law or A-law over
// RTP or SRTP: each leg decodes what it receives and encodes what it sends.
//
// The room adds no goroutine or timer: mixing runs on the clock goroutine,
// and a member's leg sends its frame from there too.
type Mixer struct {
	m   *Manager
	max int

	mu      sync.Mutex
	members []*Member // guarded by mu, join order
	closed  bool
	plan    atomic.Pointer[mixPlan]

	// playSem admits one room-wide playback at a time; play is the one
	// running (read by the clock goroutine).
	playSem chan struct{}
	play    atomic.Pointer[roomPlay]
	// recs are the recordings of the room's mix.
	recs tapList

	// Scratch of the clock goroutine.
	total  []int32
	played []int16
	heard  []int16
}

// mixPlan is an immutable snapshot of the room for the clock goroutine,
// rebuilt when a member joins, leaves or changes whom it coaches.
type mixPlan struct {
	members []*Member
	normal  []*Member // the members that coach nobody: heard by all
	coaches []coach
}

// coach is a member whose audio goes only to targets.
type coach struct {
	m       *Member
	targets []*Member
}

// ErrRoomFull is returned by Join when the room has its most members.
var ErrRoomFull = errors.New("media: conference is full")

// DefaultMaxMembers caps a room when MixerOptions leave it zero.
const DefaultMaxMembers = 50

// MixerOptions configure a room.
type MixerOptions struct {
	// MaxMembers caps the room (0: DefaultMaxMembers).
	MaxMembers int
}

// NewMixer returns an empty room on the manager's clock.
func (m *Manager) NewMixer(opts MixerOptions) *Mixer {
	if opts.MaxMembers <= 0 {
		opts.MaxMembers = DefaultMaxMembers
	}
	mx := &Mixer{
		m: m, max: opts.MaxMembers, playSem: make(chan struct{}, 1),
		total: make([]int32, frameSamples), played: make([]int16, frameSamples), heard: make([]int16, frameSamples),
	}
	mx.plan.Store(&mixPlan{})
	return mx
}

// MemberOptions are a member's state when it joins.
type MemberOptions struct {
	Mute, Hold bool
	// Coach lists the keys of the members this one coaches (nil: it is a
	// normal member, heard by all).
	Coach []string
}

// Join adds leg to the room under key (the call's ID). The leg must be
// negotiated with a codec the endpoint can decode and encode (G.711, G.722,
// Opus, G.729 where enabled: its audio is decoded to 8 kHz on the way in and
// the mix encoded on the way out, as for playback) and not bridged. Run the returned member (Member.Run) to send it the room's
// audio.
func (mx *Mixer) Join(key string, leg *Leg, opts MemberOptions) (*Member, error) {
	if leg.s.m != mx.m {
		return nil, errors.New("media: leg belongs to another manager")
	}
	if err := leg.endpointReady(); err != nil {
		return nil, err
	}
	if c, _ := leg.Codec(); !c.Transcodable() {
		return nil, fmt.Errorf("%w: %s", ErrCodecUnsupported, c.Name)
	}
	mb := &Member{mx: mx, leg: leg, key: key, left: make(chan struct{}),
		frame: make([]int16, frameSamples), acc: make([]int32, frameSamples), out: make([]int16, frameSamples)}
	mb.set(flagMute, opts.Mute)
	mb.set(flagHold, opts.Hold)
	mx.mu.Lock()
	defer mx.mu.Unlock()
	switch {
	case mx.closed:
		return nil, ErrClosed
	case len(mx.members) >= mx.max:
		return nil, ErrRoomFull
	}
	for _, o := range mx.members {
		if o.key == key {
			return nil, fmt.Errorf("media: %s is already in the conference", key)
		}
	}
	mb.coaching = append([]string(nil), opts.Coach...)
	mx.members = append(mx.members, mb)
	mx.replanLocked()
	leg.taps.add(mb)
	mx.m.clock.addMixer(mx)
	return mb, nil
}

// Members is how many members the room has.
func (mx *Mixer) Members() int {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return len(mx.members)
}

// Member returns the member joined under key.
func (mx *Mixer) Member(key string) (*Member, bool) {
	for _, mb := range mx.plan.Load().members {
		if mb.key == key {
			return mb, true
		}
	}
	return nil, false
}

func (mx *Mixer) leave(mb *Member) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	for i, o := range mx.members {
		if o == mb {
			mx.members = append(mx.members[:i:i], mx.members[i+1:]...)
			break
		}
	}
	mx.replanLocked()
	if len(mx.members) == 0 {
		mx.m.clock.removeMixer(mx)
	}
}

// replanLocked rebuilds the clock's snapshot (mx.mu held).
func (mx *Mixer) replanLocked() {
	p := &mixPlan{members: append([]*Member(nil), mx.members...)}
	byKey := make(map[string]*Member, len(mx.members))
	for _, mb := range mx.members {
		byKey[mb.key] = mb
	}
	for _, mb := range mx.members {
		if mb.coaching == nil {
			p.normal = append(p.normal, mb)
			continue
		}
		c := coach{m: mb}
		for _, k := range mb.coaching {
			if t, ok := byKey[k]; ok && t != mb {
				c.targets = append(c.targets, t)
			}
		}
		p.coaches = append(p.coaches, c)
	}
	mx.plan.Store(p)
}

// Close removes every member (their Run returns) and stops the room's
// playback and recordings.
func (mx *Mixer) Close() {
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		return
	}
	mx.closed = true
	members := append([]*Member(nil), mx.members...)
	mx.mu.Unlock()
	for _, mb := range members {
		mb.Leave()
	}
	if p := mx.play.Load(); p != nil {
		p.finish(ErrClosed)
	}
	mx.recs.stopAll()
	mx.m.clock.removeMixer(mx)
}

// mix computes every member's frame for this tick (clock goroutine). Each
// member's state is read once per tick, so a change from the API applies
// from one whole tick to the next.
func (mx *Mixer) mix() {
	p := mx.plan.Load()
	total := mx.total
	clear(total)
	for _, mb := range p.members {
		mb.held = mb.flag(flagHold)
		mb.heard = mb.in.pop(mb.frame) && !mb.flag(flagMute) && !mb.held
	}
	for _, mb := range p.normal {
		if mb.heard {
			for i, v := range mb.frame {
				total[i] += int32(v)
			}
		}
	}
	if mx.nextPlayed() {
		for i, v := range mx.played {
			total[i] += int32(v)
		}
	}
	for _, mb := range p.members {
		if !mb.held {
			copy(mb.acc, total)
		}
	}
	for _, mb := range p.normal {
		if mb.heard { // not held: its acc is this tick's
			for i, v := range mb.frame {
				mb.acc[i] -= int32(v)
			}
		}
	}
	for _, c := range p.coaches {
		if !c.m.heard {
			continue
		}
		for _, t := range c.targets {
			if t.held {
				continue
			}
			for i, v := range c.m.frame {
				t.acc[i] += int32(v)
			}
		}
	}
	for _, mb := range p.members {
		if mb.held {
			mb.ready.Store(false)
			continue
		}
		clipInto(mb.out, mb.acc)
		mb.ready.Store(true)
	}
	if mx.recs.active() {
		clipInto(mx.heard, total)
		mx.recs.in(mx.heard)
	}
}

// clipInto saturates 32-bit sums to 16-bit samples.
func clipInto(dst []int16, src []int32) {
	for i, v := range src {
		dst[i] = clip16(v)
	}
}

// roomPlay is audio played to the whole room; its sendWork (job unused)
// reports the end once.
type roomPlay struct {
	src frameSource
	sendWork
}

// nextPlayed puts the next frame of the room's playback in mx.played.
func (mx *Mixer) nextPlayed() bool {
	p := mx.play.Load()
	if p == nil {
		return false
	}
	if !p.src.next(mx.played) {
		mx.play.CompareAndSwap(p, nil)
		p.finish(nil)
		return false
	}
	return true
}

// PlayPCM plays 8 kHz samples to every member that is not on hold (and
// into the room's recordings), one playback at a time; it returns when the
// audio ends, ctx ends, or the room closes.
func (mx *Mixer) PlayPCM(ctx context.Context, pcm []int16) error {
	select {
	case mx.playSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-mx.playSem }()
	mx.mu.Lock()
	closed := mx.closed
	mx.mu.Unlock()
	if closed {
		return ErrClosed
	}
	p := &roomPlay{src: &pcmSource{pcm: pcm}, sendWork: sendWork{done: make(chan error, 1)}}
	mx.play.Store(p)
	defer mx.play.CompareAndSwap(p, nil)
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Play plays a WAV or MP3 file (path or http(s) URL) to the room.
func (mx *Mixer) Play(ctx context.Context, src string) error {
	pcm, err := mx.m.LoadAudio(ctx, src)
	if err != nil {
		return err
	}
	return mx.PlayPCM(ctx, pcm)
}

// Speak speaks text to the room with the manager's TTS.
func (mx *Mixer) Speak(ctx context.Context, text string, v Voice) error {
	pcm, err := mx.m.tts.Synthesize(ctx, text, v)
	if err != nil {
		return err
	}
	return mx.PlayPCM(ctx, pcm)
}

// StartRecording records the room's mix (every member that is heard, and
// what the room plays; coaches are not in it, as no plain member hears
// them) to a mono WAV file at path, until Stop or Close.
func (mx *Mixer) StartRecording(path string, opts RecordOptions) (*Recording, error) {
	mx.mu.Lock()
	closed := mx.closed
	mx.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	opts.Channels, opts.TerminatingDigits, opts.SilenceTimeout = 1, "", 0
	f, w, err := createWAV(path, 1)
	if err != nil {
		return nil, err
	}
	r := &Recording{opts: opts, path: path, stop: make(chan struct{}), done: make(chan struct{})}
	r.detach = func() { mx.recs.remove(r) }
	mx.recs.add(r)
	go r.run(f, w, nil, func() {})
	return r, nil
}
