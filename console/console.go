// Package console is the web console the node serves at /: plain HTML,
// CSS and JavaScript modules embedded in the binary (no build step, no
// CDN), and the stream of server-sent events that keeps its live views
// current. The pages call the same API as every other client, signed in
// with a session that carries an API client's rights (api/session.go);
// this package adds no route that reads or changes an account's data.
package console

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/events"
)

//go:embed static
var staticFS embed.FS

// Authenticate checks a request's session (or bearer token) and returns
// its account, or an HTTP status and message to refuse it with.
type Authenticate func(r *http.Request) (accountID string, status int, msg string)

// Node is the node's health as the home page shows it.
type Node struct {
	Version   string   `json:"version"`
	Ready     bool     `json:"ready"`
	Problem   string   `json:"problem,omitempty"` // why it is not ready
	Listeners []string `json:"listeners"`         // "udp 0.0.0.0:5060", ...
	LiveCalls int      `json:"liveCalls"`         // the account's calls up right now
}

// Config wires the console.
type Config struct {
	Events *events.Hub
	Auth   Authenticate
	// Node reports the node's health for an account (nil: not shown).
	Node   func(ctx context.Context, accountID string) Node
	Logger *slog.Logger
	// Heartbeat is how often an idle event stream gets a comment (and the
	// node's health); 0: 20 s.
	Heartbeat time.Duration
}

// Console serves the web console.
type Console struct {
	cfg    Config
	log    *slog.Logger
	assets map[string]asset
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New loads the embedded assets.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 20 * time.Second
	}
	c := &Console{cfg: cfg, log: cfg.Logger.With("caller", "console"), assets: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		c.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return c
}

// Register adds the console's routes to mux: the page at /, its assets
// under /console/assets/, and the event stream at /console/events.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { c.serveAsset(w, r, "index.html") })
	mux.HandleFunc("GET /console/assets/{file...}", func(w http.ResponseWriter, r *http.Request) {
		c.serveAsset(w, r, r.PathValue("file"))
	})
	mux.HandleFunc("GET /console/events", c.serveEvents)
}

// securityHeaders keep the console's pages to their own origin: nothing
// loads from elsewhere, nothing frames them.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := c.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	// Revalidated every time (a 304 is cheap): a new binary's assets are
	// never mixed with an old one's.
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}
