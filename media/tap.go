package media

import (
	"sync"
	"sync/atomic"
)

// tap receives a leg's decoded audio: dir 0 is what the remote sent, 1 what
// the leg sent it. push runs on the packet path, so it only copies or
// measures, and never keeps pcm.
type tap interface {
	push(dir int, pcm []int16)
}

// tapList holds the recordings and listeners fed by a leg. The packet path
// reads it with one atomic load; changes copy the slice.
type tapList struct {
	mu sync.Mutex
	p  atomic.Pointer[[]tap]
}

func (t *tapList) active() bool {
	p := t.p.Load()
	return p != nil && len(*p) > 0
}

// in feeds audio received from the remote.
func (t *tapList) in(pcm []int16) {
	if p := t.p.Load(); p != nil {
		for _, r := range *p {
			r.push(0, pcm)
		}
	}
}

// out feeds audio sent to the remote (relayed from the peer or played).
func (t *tapList) out(pcm []int16) {
	if p := t.p.Load(); p != nil {
		for _, r := range *p {
			r.push(1, pcm)
		}
	}
}

func (t *tapList) add(r tap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []tap
	if p := t.p.Load(); p != nil {
		cur = *p
	}
	next := append(append([]tap(nil), cur...), r)
	t.p.Store(&next)
}

func (t *tapList) remove(r tap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p.Load()
	if p == nil {
		return
	}
	next := make([]tap, 0, len(*p))
	for _, x := range *p {
		if x != r {
			next = append(next, x)
		}
	}
	t.p.Store(&next)
}

func (t *tapList) stopAll() {
	p := t.p.Load()
	if p == nil {
		return
	}
	var recs []*Recording
	for _, x := range *p {
		if r, ok := x.(*Recording); ok {
			r.finish(StopClosed)
			recs = append(recs, r)
		}
	}
	for _, r := range recs {
		<-r.done // the file is complete before the leg reports closed
	}
}

// listener is a ListenReceived subscription.
type listener struct{ fn func(pcm []int16) }

func (l *listener) push(dir int, pcm []int16) {
	if dir == 0 {
		l.fn(pcm)
	}
}

// ListenReceived calls fn with each frame of audio the remote sends, as
// 8 kHz PCM decoded from the leg's codec, in both modes (bridged or not),
// until stop. fn runs on the leg's packet path, so an analysis (answering
// machine detection) costs no goroutine or queue per packet: it must be
// quick, must not block, and must not keep pcm. ok is false when the leg's
// codec cannot be decoded (not Transcodable).
func (l *Leg) ListenReceived(fn func(pcm []int16)) (stop func(), ok bool) {
	if c, neg := l.Codec(); !neg || !c.Transcodable() {
		return func() {}, false
	}
	x := &listener{fn: fn}
	l.taps.add(x)
	return func() { l.taps.remove(x) }, true
}
