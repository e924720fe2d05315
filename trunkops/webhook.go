package trunkops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Notifier delivers the webhooks of trunk operations (alerts fired and
// cleared, port status changes): JSON POSTs from one goroutine (Run), each
// with a bounded timeout and a few retries, from a bounded queue so a slow
// receiver never stalls a health sweep or an operator's request. A full
// queue drops the event (logged): the state the event tells of stays
// readable through the API.
type Notifier struct {
	client *http.Client
	log    *slog.Logger
	queue  chan webhookEvent
	// backoff is the wait before retry n (1-based); tests shorten it.
	backoff func(n int) time.Duration
}

type webhookEvent struct {
	url  string
	kind string
	body []byte
}

// Webhook delivery bounds.
const (
	webhookTimeout  = 5 * time.Second
	webhookAttempts = 3
	webhookQueue    = 256
	maxWebhookReply = 64 << 10
)

// NewNotifier returns a notifier; Run delivers what Send queues.
func NewNotifier(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{
		client: &http.Client{Timeout: webhookTimeout,
			// A webhook that redirects is misconfigured; following it would
			// POST the event somewhere its owner did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log:     log.With("component", "trunkWebhooks"),
		queue:   make(chan webhookEvent, webhookQueue),
		backoff: func(n int) time.Duration { return time.Duration(n) * time.Second },
	}
}

// Send queues v as a JSON POST to url; kind names it in logs.
func (n *Notifier) Send(url, kind string, v any) {
	if url == "" {
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		n.log.Error("encode webhook", "kind", kind, "error", err)
		return
	}
	select {
	case n.queue <- webhookEvent{url: url, kind: kind, body: body}:
	default:
		n.log.Warn("webhook queue full: event dropped", "kind", kind, "url", url)
	}
}

// Run delivers queued webhooks until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.queue:
			n.deliver(ctx, ev)
		}
	}
}

// deliver POSTs ev, retrying a failure or a 5xx/429 up to webhookAttempts
// times in all.
func (n *Notifier) deliver(ctx context.Context, ev webhookEvent) {
	var err error
	for attempt := 1; attempt <= webhookAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(n.backoff(attempt - 1)):
			}
		}
		var retry bool
		if retry, err = n.post(ctx, ev); err == nil {
			n.log.Debug("webhook delivered", "kind", ev.kind, "url", ev.url)
			return
		}
		if !retry {
			break
		}
	}
	n.log.Warn("webhook not delivered", "kind", ev.kind, "url", ev.url, "error", err)
}

func (n *Notifier) post(ctx context.Context, ev webhookEvent) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.url, bytes.NewReader(ev.body))
	if err != nil {
		return false, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wasmvoice")
	res, err := n.client.Do(req)
	if err != nil {
		return true, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxWebhookReply))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return false, nil
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("webhook answered %s", res.Status)
	}
	return false, fmt.Errorf("webhook answered %s", res.Status)
}
