package guard

import (
	"sync"
	"time"
	"unicode/utf8"
)

// Sampler bounds log volume under a flood: it lets at most Burst lines
// through per Every and counts the rest, so the next line let through can say
// how many were held back. The counts stay complete in metrics.
type Sampler struct {
	burst int
	every time.Duration
	clock Clock

	mu         sync.Mutex
	start      time.Time
	n          int
	suppressed int64
}

// NewSampler lets burst lines through per every.
func NewSampler(burst int, every time.Duration) *Sampler {
	return &Sampler{burst: burst, every: every, clock: realClock{}}
}

// Allow reports whether to log a line now, and how many lines were held
// back since the last one let through.
func (s *Sampler) Allow() (ok bool, suppressed int64) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.start) >= s.every {
		s.start, s.n = now, 0
	}
	if s.n >= s.burst {
		s.suppressed++
		return false, 0
	}
	s.n++
	suppressed, s.suppressed = s.suppressed, 0
	return true, suppressed
}

// Truncate shortens s to at most n bytes (on a rune boundary), marking the
// cut, so a hostile request cannot make a log line as long as itself.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
