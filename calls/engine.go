// Package calls is the call engine: a Call per live call leg (inbound,
// outbound, or the B-leg of a transfer), its state machine, and the BXML
// verbs it carries out on its SIP legs and media session. It asks a
// callflow.Source what to do on every event and never which kind of source
// answered; it reaches SIP trunks and SIP hooks through the small interfaces
// of interfaces.go.
package calls

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
)

var (
	callsLive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_calls_live", Help: "Calls up right now.",
	})
	callsEnded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_calls_ended_total", Help: "Ended calls by direction and disconnect cause.",
	}, []string{"direction", "cause"})
)

// Engine owns every live call: it answers accepted INVITEs, places
// outbound calls, and runs each call's BXML program in the call's own
// goroutine.
type Engine struct {
	store     *store.Store
	media     *media.Manager
	source    callflow.Source
	hooks     SIPHooks // nil: no SIP hooks
	trunks    Trunks   // nil: phone numbers have no route
	callerIDs CallerIDCheck
	dialer    Dialer
	log       *slog.Logger
	baseURL   string // of the Voice API, for callUrl and mediaUrl
	sipDomain string
	dataDir   string
	mp3       *media.MP3Encoder
	limits    Limits
	stt       speech.Recognizer // nil: no transcription
	sttQueue  *speech.Queue
	kept      *storage.Media // where finished recordings live
	feed      Feed           // nil: nobody watches

	confs conferences // live conferences (conference.go)

	mu    sync.Mutex
	calls map[string]*Call
	load  map[string]int // live calls per capacity key (capacity.go)
	wg    sync.WaitGroup
}

// Config wires an Engine.
type Config struct {
	Store *store.Store
	Media *media.Manager
	// Source answers every event of every call with BXML (callflow.Mux).
	Source callflow.Source
	// Hooks run the applications' SIP hooks (nil: none).
	Hooks SIPHooks
	// Trunks route calls to phone numbers and map trunks' headers (nil:
	// only SIP URIs can be dialled).
	Trunks Trunks
	// Dialer places outbound legs; it may be set later with SetDialer.
	Dialer Dialer
	// CallerIDs, when set, may refuse createCall's from number when it
	// calls a phone number (an unverified number when the node requires
	// verification).
	CallerIDs CallerIDCheck
	// BaseURL is the Voice API's base URL as callbacks show it (callUrl,
	// mediaUrl); it may be set later with SetBaseURL.
	BaseURL   string
	SIPDomain string // host of the caller-ID URIs of outbound legs
	DataDir   string // recordings go under <DataDir>/recordings
	// MP3 encodes fileFormat="mp3" recordings (nil: lame from PATH).
	MP3 *media.MP3Encoder
	// Recordings is where finished recordings go (nil: they stay under
	// DataDir).
	Recordings *storage.Media
	// Limits cap concurrent calls (zero: none).
	Limits Limits
	// Recognizer transcribes recordings, on the jobs of Transcriptions
	// (the owner closes it after Shutdown); nil: no transcription.
	Recognizer     speech.Recognizer
	Transcriptions *speech.Queue
	// Feed receives every call's state changes and the errors of its log
	// (the web console's live views); nil: none.
	Feed   Feed
	Logger *slog.Logger
}

// New makes an engine.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MP3 == nil {
		cfg.MP3 = media.NewMP3Encoder(media.MP3Options{})
	}
	if cfg.Recordings == nil {
		cfg.Recordings = storage.NewMedia(nil, cfg.Logger)
	}
	return &Engine{
		store: cfg.Store, mp3: cfg.MP3, media: cfg.Media, source: cfg.Source, hooks: cfg.Hooks, trunks: cfg.Trunks, callerIDs: cfg.CallerIDs, dialer: cfg.Dialer,
		log: cfg.Logger.With("caller", "engine"), baseURL: cfg.BaseURL, sipDomain: cfg.SIPDomain, dataDir: cfg.DataDir,
		limits: cfg.Limits, stt: cfg.Recognizer, kept: cfg.Recordings, feed: cfg.Feed, sttQueue: cfg.Transcriptions, calls: make(map[string]*Call), load: make(map[string]int),
	}
}

// SetDialer sets the dialer of outbound legs: the SIP server that dials
// needs the engine as its handler, so one of them comes second. Call it
// before the engine takes calls.
func (e *Engine) SetDialer(d Dialer) { e.dialer = d }

// SetBaseURL sets the Voice API's base URL once the HTTP listener is bound.
// Call it before the engine takes calls.
func (e *Engine) SetBaseURL(u string) { e.baseURL = u }

// BaseURL is the Voice API's base URL as callbacks show it.
func (e *Engine) BaseURL() string { return e.baseURL }

func (e *Engine) add(c *Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		return false // shut down
	}
	e.calls[c.id] = c
	e.wg.Add(1)
	callsLive.Inc()
	return true
}

func (e *Engine) remove(c *Call) {
	e.mu.Lock()
	delete(e.calls, c.id)
	e.releaseLocked(c)
	e.mu.Unlock()
	callsLive.Dec()
	e.wg.Done()
}

// Call returns a live call of the account.
func (e *Engine) Call(accountID, id string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[id]
	if !ok || c.app.AccountID != accountID {
		return nil, false
	}
	return c, true
}

// LiveCalls returns a snapshot of the account's live calls.
func (e *Engine) LiveCalls(accountID string) []store.CallRecord {
	e.mu.Lock()
	cs := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		if c.app.AccountID == accountID {
			cs = append(cs, c)
		}
	}
	e.mu.Unlock()
	out := make([]store.CallRecord, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Snapshot())
	}
	return out
}

// Shutdown hangs up every live call and waits for their goroutines (or
// ctx) to end.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	calls := e.calls
	e.calls = nil
	e.mu.Unlock()
	for _, c := range calls {
		c.end(bxml.CauseHangup, "server shutting down")
	}
	e.stopConferences()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
