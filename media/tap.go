package media

import (
	"sync"
	"sync/atomic"
)

// tapList holds the recordings fed by a leg. The packet path reads it with
// one atomic load; changes copy the slice.
type tapList struct {
	mu sync.Mutex
	p  atomic.Pointer[[]*Recording]
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

func (t *tapList) add(r *Recording) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []*Recording
	if p := t.p.Load(); p != nil {
		cur = *p
	}
	next := append(append([]*Recording(nil), cur...), r)
	t.p.Store(&next)
}

func (t *tapList) remove(r *Recording) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p.Load()
	if p == nil {
		return
	}
	next := make([]*Recording, 0, len(*p))
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
	for _, r := range *p {
		r.finish(StopClosed)
	}
	for _, r := range *p {
		<-r.done // the file is complete before the leg reports closed
	}
}
