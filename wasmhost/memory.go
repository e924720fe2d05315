package wasmhost

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// cappedAllocator backs one instance's linear memory and refuses to grow it
// past limit bytes. The runtime-wide page limit is the node maximum; this is
// how each pool gets its own (smaller) cap without a runtime per cap. A
// refused grow makes memory.grow return -1, which a Go guest turns into a
// fatal "out of memory" exit; denied records it so the error says why.
type cappedAllocator struct {
	limit  uint64
	denied *atomic.Bool
}

func (a cappedAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	return &cappedMemory{buf: make([]byte, 0, min(capacity, a.limit)), limit: a.limit, denied: a.denied}
}

type cappedMemory struct {
	buf    []byte
	limit  uint64
	denied *atomic.Bool
}

func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.denied.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Bytes past len were zeroed by make and never exposed: linear
		// memory only grows, so they are still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	// Go grows its heap a few times per instance; an eighth of headroom
	// keeps copies rare without holding double the memory per instance.
	n := min(size+size/8, m.limit)
	nb := make([]byte, size, n)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *cappedMemory) Free() { m.buf = nil }
