package sip

import (
	"sync"
	"time"
)

// replayCache remembers the highest nonce-count seen per nonce so a captured
// Proxy-Authorization cannot be sent again. Only credentials that verified
// are recorded, so an attacker without the password cannot fill it.
//
// It is bounded: entries are kept in first-use order and evicted when they
// expire or when the table is full. An evicted nonce must never be accepted
// again, so eviction raises a floor: any nonce issued at or before the floor
// that is not in the table is refused as stale (the client gets a fresh
// nonce and retries), which keeps replays out at any table size.
type replayCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	items map[string]*replayEntry
	order []string // FIFO of keys; head at index head
	head  int
	floor int64 // unix ns
}

type replayEntry struct {
	issued int64
	nc     uint32
}

func newReplayCache(max int, ttl time.Duration) *replayCache {
	return &replayCache{max: max, ttl: ttl, items: make(map[string]*replayEntry)}
}

// observe records nc for nonce and reports whether it is new (greater than
// every nc seen before with that nonce).
func (c *replayCache) observe(nonce string, issued time.Time, nc uint32, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if e, ok := c.items[nonce]; ok {
		if nc <= e.nc {
			return false
		}
		e.nc = nc
		return true
	}
	iss := issued.UnixNano()
	if iss <= c.floor {
		return false
	}
	for len(c.items) >= c.max && c.len() > 0 {
		c.evictHead()
	}
	if c.max == 0 {
		return false
	}
	c.items[nonce] = &replayEntry{issued: iss, nc: nc}
	c.order = append(c.order, nonce)
	return true
}

func (c *replayCache) len() int { return len(c.order) - c.head }

func (c *replayCache) evictHead() {
	key := c.order[c.head]
	c.order[c.head] = ""
	c.head++
	if e, ok := c.items[key]; ok {
		if e.issued > c.floor {
			c.floor = e.issued
		}
		delete(c.items, key)
	}
	// Compact once the dead prefix dominates, keeping memory proportional to
	// the live entries.
	if c.head > 1024 && c.head*2 > len(c.order) {
		c.order = append([]string(nil), c.order[c.head:]...)
		c.head = 0
	}
}

func (c *replayCache) expire(now time.Time) {
	limit := now.Add(-c.ttl).UnixNano()
	for c.len() > 0 {
		e, ok := c.items[c.order[c.head]]
		if ok && e.issued >= limit {
			return
		}
		c.evictHead()
	}
}
