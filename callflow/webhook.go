package callflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// Defaults of the webhook source.
const (
	// DefaultTimeout is the per-request timeout, Bandwidth's default
	// callback timeout. Each attempt (primary, fallback) gets its own.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxResponseBytes caps how much of a response is read. BXML
	// itself is capped at bxml.MaxDocumentSize; the larger read cap lets
	// ignored responses drain so connections are reused.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultUserAgent is sent with every callback.
	DefaultUserAgent = "wasmvoice-callbacks/1"
)

// Webhook is the HTTP callback Source. It is safe for concurrent use by
// every call; create one per server.
type Webhook struct {
	client    *http.Client
	ownClient bool
	timeout   time.Duration
	maxBody   int64
	userAgent string
	log       *slog.Logger
}

var _ Source = (*Webhook)(nil)

// Option configures a Webhook.
type Option func(*Webhook)

// WithHTTPClient uses c instead of the Webhook's own client. c should not
// follow redirects (a callback that redirects is a failed delivery).
func WithHTTPClient(c *http.Client) Option {
	return func(w *Webhook) { w.client, w.ownClient = c, false }
}

// WithTimeout sets the default per-request timeout (a Target's Timeout
// overrides it).
func WithTimeout(d time.Duration) Option { return func(w *Webhook) { w.timeout = d } }

// WithMaxResponseBytes caps how much of a response body is read.
func WithMaxResponseBytes(n int64) Option { return func(w *Webhook) { w.maxBody = n } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(w *Webhook) { w.userAgent = ua } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Webhook) { w.log = l } }

// NewWebhook returns a webhook source with a shared, connection-pooling
// HTTP client.
func NewWebhook(opts ...Option) *Webhook {
	w := &Webhook{
		client:    NewHTTPClient(),
		ownClient: true,
		timeout:   DefaultTimeout,
		maxBody:   DefaultMaxResponseBytes,
		userAgent: DefaultUserAgent,
		log:       slog.Default(),
	}
	for _, o := range opts {
		o(w)
	}
	w.log = w.log.With("caller", "callflow.Webhook")
	return w
}

// NewHTTPClient is the client a Webhook uses unless given one: pooled
// connections sized for many concurrent calls, bounded dial and header
// times, no redirects.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           256,
			MaxIdleConnsPerHost:    64,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    5 * time.Second,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		// Redirects are not followed: Bandwidth does not, and following
		// one could carry credentials somewhere unexpected.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Close releases idle connections of the Webhook's own client.
func (w *Webhook) Close() {
	if w.ownClient {
		w.client.CloseIdleConnections()
	}
}

type attempt struct {
	rawURL, method, user, pass string
	fallback                   bool
}

// Fetch delivers the event: the Target URL first, then once on the
// fallback URL if the first attempt times out, fails to connect or
// answers non-2xx. A response that arrives but is not valid BXML is not
// retried (the application answered).
func (w *Webhook) Fetch(ctx context.Context, req Request) (Reply, error) {
	if req.Event == nil {
		return Reply{}, errors.New("callflow: Fetch without an event")
	}
	typ := req.Event.Type()
	c := req.Event.Common()
	c.EventType = typ
	if c.EventTime.IsZero() {
		c.EventTime = bxml.At(time.Now())
	}
	body, err := json.Marshal(req.Event)
	if err != nil {
		return Reply{}, fmt.Errorf("callflow: encode %s event: %w", typ, err)
	}
	t := req.Target
	attempts := []attempt{{t.URL, t.Method, t.Username, t.Password, false}}
	if t.FallbackURL != "" {
		attempts = append(attempts, attempt{t.FallbackURL, t.FallbackMethod, t.FallbackUsername, t.FallbackPassword, true})
	}
	timeout := w.timeout
	if t.Timeout > 0 {
		timeout = t.Timeout
	}
	var vars string
	if req.Call != nil {
		if vs := req.Call.Variables(); len(vs) > 0 {
			vars = encodeVariables(vs)
		}
	}
	cbErr := &CallbackError{Event: typ}
	for _, a := range attempts {
		u, err := ResolveURL(req.Base, a.rawURL)
		if err != nil {
			cbErr.Attempts = append(cbErr.Attempts, Attempt{URL: a.rawURL, Err: err})
			continue
		}
		if a.fallback {
			fallbacks.Inc()
		}
		start := time.Now()
		reply, status, err := w.try(ctx, a, u, body, vars, typ.ExpectsBXML(), timeout)
		latency.Observe(time.Since(start).Seconds())
		if err == nil {
			requests.WithLabelValues("ok").Inc()
			reply.Fallback = a.fallback
			w.log.DebugContext(ctx, "callback delivered", "event", typ, "url", u.Redacted(), "status", status, "fallback", a.fallback)
			return reply, nil
		}
		var bad *BXMLError
		if errors.As(err, &bad) {
			requests.WithLabelValues("invalid_bxml").Inc()
			w.log.WarnContext(ctx, "callback answered invalid BXML", "event", typ, "url", u.Redacted(), "error", err)
			return Reply{}, err
		}
		requests.WithLabelValues(failureLabel(status, err)).Inc()
		w.log.WarnContext(ctx, "callback attempt failed", "event", typ, "url", u.Redacted(), "status", status, "fallback", a.fallback, "error", err)
		cbErr.Attempts = append(cbErr.Attempts, Attempt{URL: u.Redacted(), Status: status, Err: err})
		if ctx.Err() != nil {
			// The call itself is over (hung up): no point in a fallback.
			return Reply{}, fmt.Errorf("callflow: %s callback: %w", typ, ctx.Err())
		}
	}
	return Reply{}, cbErr
}

// try makes one HTTP request. It returns the HTTP status seen (0 if none).
func (w *Webhook) try(ctx context.Context, a attempt, u *url.URL, body []byte, vars string, wantBXML bool, timeout time.Duration) (Reply, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := w.newRequest(ctx, a, u, body, vars)
	if err != nil {
		return Reply{}, 0, err
	}
	resp, err := w.client.Do(hreq)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return Reply{}, 0, fmt.Errorf("no response within %v: %w", timeout, context.DeadlineExceeded)
		}
		return Reply{}, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, w.maxBody+1))
	if err != nil {
		return Reply{}, resp.StatusCode, fmt.Errorf("reading response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Reply{}, resp.StatusCode, fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	reply := Reply{URL: u.String()}
	if !wantBXML {
		return reply, resp.StatusCode, nil
	}
	where := u.Redacted()
	if int64(len(data)) > w.maxBody {
		return Reply{}, resp.StatusCode, &BXMLError{URL: where, Err: fmt.Errorf("response body larger than %d bytes", w.maxBody)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return reply, resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !xmlContentType(ct) {
		return Reply{}, resp.StatusCode, &BXMLError{URL: where, Err: fmt.Errorf("response Content-Type %q is not XML", ct)}
	}
	doc, err := bxml.Parse(data)
	if err != nil {
		return Reply{}, resp.StatusCode, &BXMLError{URL: where, Err: err}
	}
	reply.Doc = doc
	return reply, resp.StatusCode, nil
}

func (w *Webhook) newRequest(ctx context.Context, a attempt, u *url.URL, body []byte, vars string) (*http.Request, error) {
	var hreq *http.Request
	var err error
	if strings.EqualFold(a.method, http.MethodGet) {
		q, qerr := queryValues(body)
		if qerr != nil {
			return nil, qerr
		}
		v := *u
		merged := v.Query()
		for k, vals := range q {
			merged[k] = vals
		}
		v.RawQuery = merged.Encode()
		hreq, err = http.NewRequestWithContext(ctx, http.MethodGet, v.String(), nil)
	} else {
		hreq, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err == nil {
			hreq.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	hreq.Header.Set("User-Agent", w.userAgent)
	hreq.Header.Set("Accept", "application/xml, text/xml")
	if a.user != "" || a.pass != "" {
		hreq.SetBasicAuth(a.user, a.pass)
	}
	if vars != "" {
		hreq.Header.Set(VariablesHeader, vars)
	}
	return hreq, nil
}

// ResolveURL turns a URL from BXML (a callback, or PlayAudio's file) into
// an absolute http(s) URL, resolving a relative one against base (the URL
// that served the document, Reply.URL), as Bandwidth does.
func ResolveURL(base, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if !u.IsAbs() {
		if base == "" {
			return nil, fmt.Errorf("relative URL %q and no base URL to resolve it against", raw)
		}
		b, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("bad base URL: %w", err)
		}
		u = b.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not http(s)", u.Redacted())
	}
	return u, nil
}

// xmlContentType accepts XML media types, text/plain (sloppy but common
// for hand-written backends) and a missing header; the parser decides
// whether the body really is BXML.
func xmlContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/xml" || mt == "text/xml" || mt == "text/plain" || strings.HasSuffix(mt, "+xml")
}

func failureLabel(status int, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case status != 0:
		return "status"
	}
	return "error"
}
