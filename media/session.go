package media

import (
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Session groups the legs of one call. It owns their sockets and goroutines
// and one idle watcher; Close releases all of them.
type Session struct {
	m    *Manager
	log  *slog.Logger
	idle chan *Leg
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	legs   []*Leg
	closed bool
}

func newSession(m *Manager, log *slog.Logger) *Session {
	s := &Session{m: m, log: log, idle: make(chan *Leg, 8), stop: make(chan struct{})}
	metricSessions.Inc()
	if m.cfg.IdleTimeout > 0 {
		s.wg.Add(1)
		go s.watchIdle(m.cfg.IdleTimeout)
	}
	return s
}

// NewLeg allocates an RTP/RTCP port pair, opens its sockets and starts
// reading. name only labels logs ("caller", "callee", ...).
func (s *Session) NewLeg(name string) (*Leg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	l, err := newLeg(s, name)
	if err != nil {
		return nil, err
	}
	s.legs = append(s.legs, l)
	return l, nil
}

// Legs returns the session's open legs.
func (s *Session) Legs() []*Leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Leg(nil), s.legs...)
}

// Idle delivers a leg each time it has received no RTP or RTCP for the
// manager's IdleTimeout, counted from its answer (Activate). It is
// reported again only after media resumed and stopped again. The channel is never closed; select on it with your own
// done signal.
func (s *Session) Idle() <-chan *Leg { return s.idle }

// Bridge relays media between a and b in both directions; see the
// package-level Bridge. It is the same operation, kept on Session for
// callers that think of a call's legs as its own.
func (s *Session) Bridge(a, b *Leg) error { return Bridge(a, b) }

// Unbridge stops relaying for l and its peer; both return to the endpoint.
func (s *Session) Unbridge(l *Leg) { l.unbridge() }

// Close closes every leg and stops the idle watcher. It waits for all the
// session's goroutines and returns every port to the pool.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	legs := s.legs
	s.legs = nil
	s.mu.Unlock()
	close(s.stop)
	var errs []error
	for _, l := range legs {
		if err := l.close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	metricSessions.Dec()
	return errors.Join(errs...)
}

func (s *Session) removeLeg(l *Leg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.legs {
		if x == l {
			s.legs = append(s.legs[:i], s.legs[i+1:]...)
			return
		}
	}
}

// watchIdle polls packet counters rather than timestamping every packet, so
// the hot path pays one atomic add.
func (s *Session) watchIdle(timeout time.Duration) {
	defer s.wg.Done()
	tick := timeout / 4
	if tick > time.Second {
		tick = time.Second
	}
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	type seen struct {
		count    uint64
		at       time.Time
		reported bool
	}
	state := map[*Leg]*seen{}
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			for _, l := range s.Legs() {
				st, ok := state[l]
				c := l.rxPackets.Load()
				// The clock starts at the answer (Activate): a leg still
				// ringing has no media to miss.
				if !ok || !l.send.live.Load() {
					state[l] = &seen{count: c, at: now}
					continue
				}
				if c != st.count {
					st.count, st.at, st.reported = c, now, false
					continue
				}
				if !st.reported && now.Sub(st.at) >= timeout {
					st.reported = true
					metricIdle.Inc()
					s.log.Info("media idle", "leg", l.name, "for", now.Sub(st.at).Round(time.Millisecond))
					select {
					case s.idle <- l:
					default:
					}
				}
			}
		}
	}
}
