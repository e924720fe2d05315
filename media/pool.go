package media

import (
	"fmt"
	"sync"
)

// PortPool hands out even RTP ports (RTCP uses port+1) from a fixed range.
// Free ports are kept in FIFO order so a released port is reused as late as
// possible, which keeps stray packets of a finished call away from the next.
type PortPool struct {
	mu    sync.Mutex
	free  []int // FIFO: take from head, release to tail
	head  int
	inUse map[int]bool
	min   int
	max   int
}

// NewPortPool returns a pool over the even ports in [min, max] whose RTCP
// port (port+1) is also <= max.
func NewPortPool(min, max int) (*PortPool, error) {
	if min < 1024 || max > 65535 || min > max {
		return nil, fmt.Errorf("media: invalid RTP port range %d-%d", min, max)
	}
	if min%2 == 1 {
		min++
	}
	p := &PortPool{inUse: make(map[int]bool), min: min, max: max}
	for port := min; port+1 <= max; port += 2 {
		p.free = append(p.free, port)
	}
	if len(p.free) == 0 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even/odd pair", min, max)
	}
	return p, nil
}

// Acquire returns a free even port, or ErrPortsExhausted.
func (p *PortPool) Acquire() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.free) {
		return 0, fmt.Errorf("%w in %d-%d (%d pairs in use)", ErrPortsExhausted, p.min, p.max, len(p.inUse))
	}
	port := p.free[p.head]
	p.head++
	// Compact now and then so the slice does not grow without bound.
	if p.head > 1024 && p.head*2 > len(p.free) {
		p.free = append(p.free[:0], p.free[p.head:]...)
		p.head = 0
	}
	p.inUse[port] = true
	metricPortsInUse.Inc()
	return port, nil
}

// Release returns a port to the pool. Releasing a port that is not in use is
// ignored, so a double release can never hand one port to two legs.
func (p *PortPool) Release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inUse[port] {
		return
	}
	delete(p.inUse, port)
	p.free = append(p.free, port)
	metricPortsInUse.Dec()
}

// InUse returns how many ports are allocated.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inUse)
}

// Free returns how many ports can still be acquired.
func (p *PortPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free) - p.head
}
