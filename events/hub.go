// Package events is the node's in-process feed of what happens on each
// account: calls changing state and the debugger's entries (refused SIP
// requests, failed webhooks, module traps and timeouts). Publishers never
// wait: every subscriber has a bounded buffer, and a subscriber that falls
// behind loses messages (counted) rather than slowing a call down. The web
// console streams it to browsers as server-sent events.
package events

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Message kinds.
const (
	KindCall  = "call"  // Data: the call's record (store.CallRecord)
	KindDebug = "debug" // Data: a Debug entry
)

// Message is one published event, its data already JSON.
type Message struct {
	Kind string
	Data json.RawMessage
}

// Limits bound the hub.
type Limits struct {
	// Subscribers caps the subscriptions of the whole node, and
	// PerAccount those of one account.
	Subscribers, PerAccount int
	// Buffer is each subscriber's queue; when it is full, new messages for
	// that subscriber are dropped.
	Buffer int
	// Recent is how many debugger entries each account keeps.
	Recent int
	// Accounts caps how many accounts keep recent entries (the oldest
	// account's go when a new one comes).
	Accounts int
}

// DefaultLimits suit a single node.
var DefaultLimits = Limits{Subscribers: 256, PerAccount: 16, Buffer: 256, Recent: 200, Accounts: 10000}

// ErrTooMany is returned when a subscription would pass a limit.
var ErrTooMany = errors.New("too many event streams open")

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("event hub closed")

// Hub fans events out to the subscribers of each account. It is safe for
// concurrent use; the zero value is not (use New).
type Hub struct {
	lim Limits
	log *slog.Logger

	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{}
	nsubs  int
	recent map[string]*ring
	order  []string // accounts of recent, oldest first
	closed bool
}

// New makes a hub; zero limits take DefaultLimits' values.
func New(lim Limits, log *slog.Logger) *Hub {
	d := DefaultLimits
	if lim.Subscribers <= 0 {
		lim.Subscribers = d.Subscribers
	}
	if lim.PerAccount <= 0 {
		lim.PerAccount = d.PerAccount
	}
	if lim.Buffer <= 0 {
		lim.Buffer = d.Buffer
	}
	if lim.Recent <= 0 {
		lim.Recent = d.Recent
	}
	if lim.Accounts <= 0 {
		lim.Accounts = d.Accounts
	}
	if log == nil {
		log = slog.Default()
	}
	return &Hub{lim: lim, log: log.With("caller", "events"), subs: map[string]map[*Subscription]struct{}{}, recent: map[string]*ring{}}
}

// Subscription receives one account's messages until it is closed.
type Subscription struct {
	h       *Hub
	account string
	c       chan Message
	dropped int64 // under h.mu
	once    sync.Once
}

// C delivers the messages; it is closed when the subscription or the hub is.
func (s *Subscription) C() <-chan Message { return s.c }

// Dropped is how many messages did not fit the subscriber's buffer.
func (s *Subscription) Dropped() int64 {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.dropped
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		if m := s.h.subs[s.account]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(s.h.subs, s.account)
			}
		}
		s.h.nsubs--
		close(s.c)
	})
}

// Subscribe opens a subscription to an account's messages.
func (h *Hub) Subscribe(accountID string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.nsubs >= h.lim.Subscribers || len(h.subs[accountID]) >= h.lim.PerAccount {
		return nil, ErrTooMany
	}
	s := &Subscription{h: h, account: accountID, c: make(chan Message, h.lim.Buffer)}
	if h.subs[accountID] == nil {
		h.subs[accountID] = map[*Subscription]struct{}{}
	}
	h.subs[accountID][s] = struct{}{}
	h.nsubs++
	return s, nil
}

// Publish sends a message to the account's subscribers without waiting.
// Debug entries are also kept among the account's recent ones.
func (h *Hub) Publish(accountID, kind string, data any) {
	if accountID == "" {
		return
	}
	h.mu.Lock()
	idle := h.closed || (kind != KindDebug && len(h.subs[accountID]) == 0)
	h.mu.Unlock()
	if idle {
		return // nobody listens: not even worth the JSON
	}
	b, err := json.Marshal(data) // outside the lock: publishers run in parallel
	if err != nil {
		h.log.Error("encode event", "kind", kind, "error", err)
		return
	}
	m := Message{Kind: kind, Data: b}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if kind == KindDebug {
		h.keepLocked(accountID, m)
	}
	for s := range h.subs[accountID] {
		select {
		case s.c <- m:
		default:
			s.dropped++
		}
	}
}

// Debug publishes a debugger entry.
func (h *Hub) Debug(accountID string, d Debug) {
	if d.Time.IsZero() {
		d.Time = time.Now().UTC()
	}
	h.Publish(accountID, KindDebug, d)
}

// Recent returns the account's recent debugger entries, oldest first.
func (h *Hub) Recent(accountID string) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.recent[accountID]
	if r == nil {
		return nil
	}
	return r.list()
}

func (h *Hub) keepLocked(accountID string, m Message) {
	r := h.recent[accountID]
	if r == nil {
		if len(h.order) >= h.lim.Accounts {
			delete(h.recent, h.order[0])
			h.order = h.order[1:]
		}
		r = &ring{buf: make([]Message, 0, min(h.lim.Recent, 16)), max: h.lim.Recent}
		h.recent[accountID] = r
		h.order = append(h.order, accountID)
	}
	r.add(m)
}

// Close ends every subscription (their channels close) and refuses new
// ones: the HTTP server's shutdown calls it so event streams end.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, m := range h.subs {
		for s := range m {
			s.closeLocked()
		}
	}
}

// ring keeps the last max messages.
type ring struct {
	buf  []Message
	next int // where the next message goes once buf is full
	max  int
}

func (r *ring) add(m Message) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, m)
		return
	}
	r.buf[r.next] = m
	r.next = (r.next + 1) % r.max
}

func (r *ring) list() []Message {
	out := make([]Message, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
