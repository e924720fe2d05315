package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wasmvoice/wasmvoice/events"
)

// serveEvents streams the account's events as server-sent events: first the
// node's health and the recent debugger entries, then every call change
// and debugger entry as it happens, with a heartbeat while idle. A stream
// ends when the client goes, the node shuts down (the hub closes), or the
// subscriber fell so far behind that its buffer overflowed (the page
// reconnects and reloads what it shows, rather than showing a gap).
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	acct, status, msg := c.cfg.Auth(r)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	sub, err := c.cfg.Events.Subscribe(acct)
	if errors.Is(err, events.ErrTooMany) || errors.Is(err, events.ErrClosed) {
		w.Header().Set("Retry-After", "10")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer sub.Close()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(kind string, data []byte) error {
		// A write that cannot finish (a client that stopped reading) ends
		// the stream instead of holding the handler.
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	node := func() error {
		if c.cfg.Node == nil {
			return nil
		}
		b, _ := json.Marshal(c.cfg.Node(r.Context(), acct)) // a struct of plain fields always marshals
		return write("node", b)
	}
	// The retry hint comes first: EventSource reconnects after 3 s.
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return
	}
	if node() != nil {
		return
	}
	for _, m := range c.cfg.Events.Recent(acct) {
		if write(m.Kind, m.Data) != nil {
			return
		}
	}
	if write("ready", []byte("{}")) != nil {
		return
	}
	tick := time.NewTicker(c.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-sub.C():
			if !ok {
				return
			}
			if write(m.Kind, m.Data) != nil {
				return
			}
		case <-tick.C:
			if sub.Dropped() > 0 {
				c.log.Info("event stream fell behind; closing it so the page reloads", "accountId", acct, "dropped", sub.Dropped())
				return
			}
			if node() != nil {
				return
			}
		}
	}
}
