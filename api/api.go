// Package api is the management and Voice API over HTTP, built with Huma v2:
// OAuth2 client credentials, voice applications and (in later files) calls,
// recordings, modules and SIP trunk routing. Rules live in store and server;
// this package maps them to HTTP.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

func init() {
	// JSON field names are matched exactly, as the document spells them:
	// encoding/json would take callInitiatedCallbackURL for
	// callInitiatedCallbackUrl, and a client's typo would pass unnoticed.
	huma.ValidateStrictCasing = true
}

// Version is the API document's version.
const Version = "1.0.0"

// Config is what the API needs from the node.
type Config struct {
	Store     *store.Store
	SIPDomain string // host of every sipUri and the digest realm
	// SIPPort is the port of the node's SIP listener, shown in sipUri
	// unless it is 5060 (0: not shown).
	SIPPort int
	// DigestAlgorithms are the node's default digest challenges, shown for
	// applications that set none.
	DigestAlgorithms []string
	TokenKey         []byte // HMAC key for access tokens (node setting, generated at first start)
	// Network reports the node's SIP and media addresses (firewall and PBX
	// setup routes); nil answers 503.
	Network func() SIPNetwork
	// Health reports trunk endpoint health (GET /v1/sip/status); nil
	// answers 503.
	Health SIPHealth
	// Discovery runs SIP endpoint discoveries (/v1/sip/discover); nil
	// answers 503.
	Discovery SIPDiscovery
	// TestCalls places SIP test calls (POST /v1/sip/test-call); nil answers
	// 503.
	TestCalls SIPTestCalls
	// TrunkConfig keeps failover, codecs and alerts (PATCH /v1/sip/config);
	// nil answers 503.
	TrunkConfig SIPTrunkConfig
	// Verification verifies numbers by calling them (PUT /v1/sip/verify);
	// nil answers 503.
	Verification SIPVerification
	// Porting keeps number port requests (/v1/sip/port); nil answers 503.
	Porting SIPPorting
	// Calls is the call engine behind the Voice API's call routes; nil
	// serves the routes without one (no call is ever live, createCall fails).
	Calls Calls
	// Recordings pauses and resumes live calls' recordings; nil answers
	// every call with 404 (no call is live).
	Recordings RecordingControl
	// PublicURL is the API's base URL as callUrl and mediaUrl show it.
	PublicURL string
	// Ready reports whether the node can take traffic (store reachable, listeners up).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Wasm validates uploaded modules (nil: uploads get 503);
	// MaxModuleBytes caps them (0: wasmhost.DefaultMaxModuleBytes).
	Wasm           *wasmhost.Host
	MaxModuleBytes int
	// Guard counts failed authentications per source (nil: none are).
	Guard *guard.Guard
	// Bans are the guards whose bans the operator lists and lifts.
	Bans []BanList
	// RecordingMedia serves and deletes recordings' media (nil: local
	// files only).
	RecordingMedia *storage.Media
	// Transcriber runs transcribeCallRecording (nil: 503).
	Transcriber Transcriber
	// Forwarder sends requests for calls live on another node to that node
	// (nil: every call is this node's).
	Forwarder CallForwarder
	// Console, when set, serves the web console at / (in place of the
	// landing page) and adds its own routes to the API's mux.
	Console interface{ Register(mux *http.ServeMux) }
	// Conferences controls live conferences (nil: none is ever live).
	Conferences ConferenceControl
}

// Server holds the HTTP handler and the Huma API it serves.
type Server struct {
	cfg     Config
	api     huma.API
	handler http.Handler
	tokens  tokenSigner
	log     *slog.Logger
}

// New builds the API. The returned server's Handler serves everything:
// the Huma operations, /healthz, /readyz and /metrics.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Calls == nil {
		cfg.Calls = noEngine{}
	}
	if cfg.RecordingMedia == nil {
		cfg.RecordingMedia = storage.NewMedia(nil, cfg.Logger)
	}
	if cfg.Recordings == nil {
		cfg.Recordings = noEngine{}
	}
	if cfg.Conferences == nil {
		cfg.Conferences = noEngine{}
	}
	mux := http.NewServeMux()
	s := &Server{cfg: cfg, tokens: tokenSigner{key: cfg.TokenKey}, log: cfg.Logger.With("caller", "api")}
	s.api = humago.New(mux, humaConfig())
	s.api.OpenAPI().OnAddOperation = append(s.api.OpenAPI().OnAddOperation, voiceErrorDocs)
	s.api.UseMiddleware(s.authMiddleware, s.forwardMiddleware)
	registerOAuth(s)
	registerApplications(s)
	registerKV(s)
	registerSIPRouting(s)
	registerCalls(s)
	registerConferences(s)
	registerStatistics(s)
	registerTranscriptions(s)
	registerRealtimeTranscriptions(s)
	registerCallLog(s)
	registerModules(s)
	registerBans(s)
	registerSessions(s)
	registerDocs(mux, cfg.Console == nil)
	if cfg.Console != nil {
		cfg.Console.Register(mux)
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.Handler())
	logged := withRequestLog(s.log, withVoiceErrors(mux))
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { logged.ServeHTTP(w, withRemoteAddr(r)) })
	return s
}

// Handler is the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// API exposes the Huma API (the OpenAPI document is built from it).
func (s *Server) API() huma.API { return s.api }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}

func humaConfig() huma.Config {
	cfg := huma.DefaultConfig("wasmvoice API", Version)
	// The default link transformer adds "$schema" to every body, which would break
	// wire compatibility with Bandwidth-shaped clients.
	cfg.CreateHooks = nil
	cfg.DocsPath = "" // served from the binary instead (docs.go)
	cfg.Info.Description = "Management and Voice API of wasmvoice, a self-hosted programmable voice server. " +
		"Voice API paths, fields and callbacks follow Bandwidth's Voice API."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearerAuth": {Type: "http", Scheme: "bearer", Description: "Access token from POST /api/v1/oauth2/token."},
		"basicAuth":  {Type: "http", Scheme: "basic", Description: "API client ID and secret (token endpoint and Voice API)."},
		"apiKey":     {Type: "apiKey", In: "header", Name: "Authorization", Description: "API key from POST /v1/api-keys, sent raw as the Authorization header (the /v1/sip routes)."},
	}
	return cfg
}

// OpenAPIYAML renders the API's OpenAPI 3.1 document.
func OpenAPIYAML() ([]byte, error) {
	return New(Config{SIPDomain: "sip.example.com"}).API().OpenAPI().YAML()
}

// noEngine is the Calls of an API served without a call engine.
type noEngine struct{}

var errNoEngine = errors.New("this server has no call engine")

func (noEngine) CreateCall(context.Context, string, CreateCallRequest) (store.CallRecord, error) {
	return store.CallRecord{}, errNoEngine
}
func (noEngine) LiveCall(string, string) (store.CallRecord, bool) { return store.CallRecord{}, false }
func (noEngine) LiveCalls(string) []store.CallRecord              { return nil }
func (noEngine) LiveCallLog(string, string) ([]store.LogEntry, []store.SIPMessage, bool) {
	return nil, nil, false
}
func (noEngine) HangupCall(string, string) error                      { return ErrCallNotActive }
func (noEngine) RedirectCall(string, string, bxml.Target) error       { return ErrCallNotActive }
func (noEngine) ReplaceCallBXML(string, string, *bxml.Document) error { return ErrCallNotActive }
func (noEngine) SetCallTag(string, string, string) error              { return ErrCallNotActive }
func (noEngine) CallQueue(string) (int, int)                          { return 0, 0 }

// SetSIPPort sets the SIP port sipUri shows when it is only known once the
// listener is bound.
func (s *Server) SetSIPPort(p int) { s.cfg.SIPPort = p }

// sipHost is the host part of every sipUri: the domain, and the port when
// it is not SIP's default.
func (s *Server) sipHost() string {
	if s.cfg.SIPPort == 0 || s.cfg.SIPPort == 5060 {
		return s.cfg.SIPDomain
	}
	return net.JoinHostPort(s.cfg.SIPDomain, strconv.Itoa(s.cfg.SIPPort))
}

// SetPublicURL sets the base URL of callUrl and mediaUrl when it is only
// known once the HTTP listener is bound. Call it before serving.
func (s *Server) SetPublicURL(u string) { s.cfg.PublicURL = u }
