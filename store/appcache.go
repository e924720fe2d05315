package store

import (
	"slices"
	"sync"
	"time"
)

// appCacheTTL bounds how long an application read stays in memory. Writes
// through this Store invalidate at once; the TTL only covers other
// processes writing the same database.
const appCacheTTL = 5 * time.Second

// appCacheMax bounds the entries; past it the cache starts over (cheaper
// than an LRU, and a node with more live applications than this just reads
// the database more often).
const appCacheMax = 10000

// appCache keeps applications the SIP front door and the call engine read
// several times per call (two INVITEs of a digest exchange, then the
// call). Unknown IDs are never cached: they come from whoever sends
// INVITEs, and caching them would let anyone fill memory.
type appCache struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every invalidation
	entries map[string]appCacheEntry
}

type appCacheEntry struct {
	app Application
	at  time.Time
}

// get returns a copy of a fresh entry, and the generation a caller that
// misses must pass to put.
func (c *appCache) get(id string, now time.Time) (Application, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.at) > appCacheTTL {
		return Application{}, false, c.gen
	}
	return e.app.clone(), true, c.gen
}

// put stores app unless an invalidation happened since the read began
// (gen): the value read may predate that write.
func (c *appCache) put(app Application, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) >= appCacheMax {
		c.entries = make(map[string]appCacheEntry)
	}
	c.entries[app.ID] = appCacheEntry{app: app.clone(), at: now}
}

func (c *appCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, id)
}

// clone copies the slices, so a caller changing its copy never changes the
// cached one.
func (a Application) clone() Application {
	a.AllowedSourceIPs = slices.Clone(a.AllowedSourceIPs)
	a.AllowedRegions = slices.Clone(a.AllowedRegions)
	a.ModuleEvents = slices.Clone(a.ModuleEvents)
	a.SIPDigestAlgorithms = slices.Clone(a.SIPDigestAlgorithms)
	return a
}
