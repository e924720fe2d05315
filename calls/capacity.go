package calls

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/sip"
)

// Capacity: concurrent-call caps per application, per account and per
// source address, so one tenant (or one compromised PBX) cannot take every
// RTP port of the node. A call is admitted after its INVITE passed the front
// door and before any media port is taken; an INVITE past a cap gets 503
// with Retry-After, a createCall ErrCapacity.

// Limits cap concurrent calls; 0 means no cap.
type Limits struct {
	// PerApplication is the node default; an application's own
	// MaxConcurrentCalls overrides it.
	PerApplication int
	PerAccount     int
	// PerSource caps inbound calls from one IP address, except from those
	// Exempt reports (SIP trunks).
	PerSource int
	Exempt    func(netip.Addr) bool
}

// ErrCapacity is returned for a call past one of the caps.
var ErrCapacity = errors.New("too many concurrent calls")

// retryAfter is what a 503 for a cap suggests.
const retryAfter = 5

var capacityRefused = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_calls_capacity_refused_total",
	Help: "Calls refused by a concurrent-call cap, by cap (application, account, source).",
}, []string{"cap"})

// capacityKeys are the counters a call takes: one per cap that applies.
type capacityKeys []string

// admit takes c's slots under every cap, or says which cap is full.
// inbound calls count against their source address too.
func (e *Engine) admit(c *Call, src netip.Addr) error {
	l := e.limits
	type slot struct {
		key, cap string
		max      int
	}
	perApp := l.PerApplication
	if c.app.MaxConcurrentCalls > 0 {
		perApp = c.app.MaxConcurrentCalls
	}
	slots := []slot{{"acct:" + c.app.AccountID, "account", l.PerAccount}}
	if c.app.ID != "" { // a SIP test call belongs to no application
		slots = append(slots, slot{"app:" + c.app.ID, "application", perApp})
	}
	if src.IsValid() && (l.Exempt == nil || !l.Exempt(src)) {
		slots = append(slots, slot{"src:" + src.String(), "source", l.PerSource})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range slots {
		if s.max > 0 && e.load[s.key] >= s.max {
			capacityRefused.WithLabelValues(s.cap).Inc()
			return fmt.Errorf("%w: the %s's cap of %d is reached", ErrCapacity, s.cap, s.max)
		}
	}
	keys := make(capacityKeys, 0, len(slots))
	for _, s := range slots {
		e.load[s.key]++
		keys = append(keys, s.key)
	}
	c.capacity = keys
	return nil
}

// release gives c's slots back (e.mu held).
func (e *Engine) releaseLocked(c *Call) {
	for _, k := range c.capacity {
		if e.load[k]--; e.load[k] <= 0 {
			delete(e.load, k)
		}
	}
	c.capacity = nil
}

// capacityHeaders are the headers of a 503 for a cap.
func capacityHeaders() []sip.Header {
	return []sip.Header{{Name: "Retry-After", Value: strconv.Itoa(retryAfter)}}
}
