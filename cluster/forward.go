package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/store"
)

// HopHeader marks a request one node forwarded to another (its value is the
// forwarding node's ID). A node never forwards a request that carries it, so
// two nodes that disagree on a call's owner cannot bounce it between them.
const HopHeader = "X-Wasmvoice-Forwarded-By"

// Bounds of a forwarded request.
const (
	forwardTimeout  = 15 * time.Second // the whole exchange with the owner
	maxForwardBody  = 1 << 20          // request and response bodies (Voice API bodies are small JSON or BXML)
	dialTimeout     = 3 * time.Second
	responseTimeout = 10 * time.Second
)

var forwarded = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_cluster_forwarded_total",
	Help: "Voice API requests for live calls another node carries, by outcome (forwarded, owner_lost, owner_unreachable).",
}, []string{"outcome"})

// Forwarder sends a Voice API request for a live call to the node that
// carries the call (api.CallForwarder).
type Forwarder struct {
	reg   *Registry
	proxy *httputil.ReverseProxy
	log   *slog.Logger
}

type targetKey struct{}

// NewForwarder builds the forwarder of the node reg registers.
func NewForwarder(reg *Registry) *Forwarder {
	f := &Forwarder{reg: reg, log: reg.log}
	tr := &http.Transport{
		Proxy:                 nil, // nodes talk directly
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		ResponseHeaderTimeout: responseTimeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(targetKey{}).(*url.URL))
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			// The caller's Authorization goes along unchanged: the owner
			// authenticates the request again.
			pr.Out.Header.Set(HopHeader, reg.ID())
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			resp.Body = limitBody(resp.Body, maxForwardBody)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			forwarded.WithLabelValues("owner_unreachable").Inc()
			f.log.Warn("forward to the call's node failed", "url", r.URL.String(), "error", err)
			http.Error(w, "the node carrying this call did not answer: "+err.Error(), http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(reg.log.Handler(), slog.LevelWarn),
	}
	return f
}

// Forward serves r from the node that carries callID and reports true, or
// reports false when this node should serve r itself: the call is live on
// no other node (ended, unknown, or this node's), or r was forwarded to it
// already. A call whose node is dead gets 503 here: its calls are being
// reconciled.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, callID string) bool {
	if r.Header.Get(HopHeader) != "" {
		return false
	}
	ctx := r.Context()
	owner, err := f.reg.cfg.Store.CallOwner(ctx, callID)
	if err != nil || owner == "" || owner == f.reg.ID() {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			f.log.Warn("call owner lookup", "callId", callID, "error", err)
		}
		return false
	}
	n, err := f.reg.cfg.Store.Node(ctx, owner)
	if err != nil || f.reg.Dead(n, time.Now()) {
		forwarded.WithLabelValues("owner_lost").Inc()
		http.Error(w, fmt.Sprintf("the node carrying call %s (%s) stopped; its calls are being reconciled", callID, owner), http.StatusServiceUnavailable)
		return true
	}
	target, err := url.Parse(n.APIURL)
	if err != nil || target.Host == "" {
		forwarded.WithLabelValues("owner_unreachable").Inc()
		http.Error(w, fmt.Sprintf("the node carrying call %s (%s) has no usable API URL", callID, owner), http.StatusBadGateway)
		return true
	}
	forwarded.WithLabelValues("forwarded").Inc()
	f.log.Debug("forwarding to the call's node", "callId", callID, "owner", owner, "url", n.APIURL)
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, targetKey{}, target), forwardTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxForwardBody)
	}
	f.proxy.ServeHTTP(w, r)
	return true
}

// limitBody ends a body after n bytes with an error, so an owner that
// answers without end cannot hold this node's memory or connection.
func limitBody(rc io.ReadCloser, n int64) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{&limitedReader{r: rc, left: n}, rc}
}

type limitedReader struct {
	r    io.Reader
	left int64
}

var errBodyTooLarge = errors.New("forwarded response larger than the limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
