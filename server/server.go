package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/cluster"
	"github.com/wasmvoice/wasmvoice/events"
	"github.com/wasmvoice/wasmvoice/guard"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// Node settings kept in the store, generated at first start.
const (
	settingTokenKey = "api_token_key"
	settingNonceKey = "sip_nonce_key"
)

// Server is one running node.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	api     *api.Server
	http    *http.Server
	media   *media.Manager
	engine  *calls.Engine
	events  *events.Hub      // call changes and debugger entries for the web console
	sweeper *storage.Sweeper // nil: recordings are kept for good
	sip     *sip.Server
	webhook *callflow.Webhook
	modules *callflow.Modules
	sttJobs *speech.Queue // the engine's transcription jobs
	trunks  *trunkops.Trunks
	health  *trunkops.Health
	// discovery runs POST /v1/sip/discover's probes.
	discovery *trunkops.Discoverer
	// notifier delivers trunk alert and port webhooks.
	notifier *trunkops.Notifier
	// verifier runs number verification calls and checks caller IDs.
	verifier *trunkops.Verifier
	// sipGuard and httpGuard drop flooding sources and throttle failed
	// authentications, per zone.
	sipGuard, httpGuard *guard.Guard
	// nodes registers the node among those sharing the database, beats,
	// and reconciles the calls of nodes that stop.
	nodes *cluster.Registry
	// advertised is the IP Via, Contact and SDP name.
	advertised netip.Addr
	regs       atomic.Pointer[trunkops.Registrations] // while running
	ready      atomic.Bool
	// sipListeners is how many SIP listeners the node runs; fewer bound
	// (one is being started again) is not ready.
	sipListeners int

	// FirstCredentials holds the credentials made at first start (nil after).
	FirstCredentials *store.Credentials
}

// New opens the store and builds the node; Run serves it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dir
	_, statErr := os.Stat(dir)
	st, err := store.OpenDatabase(ctx, dir, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	nodeID, err := cluster.NodeID(dir, cfg.NodeID)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.SetNodeID(nodeID)
	s := &Server{cfg: cfg, log: cfg.Logger.With("node", nodeID), store: st}
	if s.FirstCredentials, err = st.FirstStart(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("first start: %w", err)
	}
	if s.FirstCredentials != nil {
		// A node started from another directory than usual looks like a
		// node that lost every application: say so loudly.
		msg := "a new node: created an account in an empty data directory"
		if errors.Is(statErr, os.ErrNotExist) {
			msg = "a new node: created the data directory and an account in it"
		}
		s.log.Warn(msg+"; if this node had applications, stop it and point --data-dir at its directory", "path", dir)
	}
	if err := s.build(ctx); err != nil {
		if s.modules != nil {
			s.closeModules()
		}
		s.closeTranscriptions()
		st.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Event streams never end by themselves: closing the hub ends them,
	// so Shutdown does not wait its whole timeout for open consoles.
	s.http.RegisterOnShutdown(s.events.Close)
	return s, nil
}

// build makes the parts of the node: media relay, call engine, SIP front
// door and API.
func (s *Server) build(ctx context.Context) error {
	cfg := s.cfg
	tokenKey, err := s.store.Key(ctx, settingTokenKey)
	if err != nil {
		return err
	}
	nonceKey, err := s.store.Key(ctx, settingNonceKey)
	if err != nil {
		return err
	}
	ip, err := cfg.advertisedIP()
	if err != nil {
		return err
	}
	s.advertised = ip
	lo, hi, err := ParsePortRange(cfg.RTPPorts)
	if err != nil {
		return err
	}
	s.media, err = media.NewManager(media.Config{G729: cfg.G729, AdvertisedIP: ip, PortMin: lo, PortMax: hi, IdleTimeout: cfg.MediaTimeout,
		RTCPInterval: cfg.RTCPInterval, Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if media.TTSAvailable() {
		s.log.Info("text-to-speech available (espeak-ng)")
	} else {
		s.log.Warn("text-to-speech unavailable: install espeak-ng; SpeakSentence will end calls with an error")
	}
	host, err := wasmhost.New(ctx, cfg.wasmConfig(s.store, cfg.Logger))
	if err != nil {
		return fmt.Errorf("wasm host: %w", err)
	}
	s.modules = callflow.NewModules(callflow.ModulesConfig{Host: host, Store: s.store,
		Warm: cfg.WasmWarm, MaxInstances: cfg.WasmMaxInstances, Logger: cfg.Logger})
	sg, hg := cfg.SIPGuard, cfg.HTTPGuard
	sg.Zone, sg.Trusted, sg.Logger = "sip", cfg.TrustedCIDRs, cfg.Logger
	hg.Zone, hg.Trusted, hg.FloodLimit, hg.Logger = "http", cfg.TrustedCIDRs, -1, cfg.Logger
	s.sipGuard, s.httpGuard = guard.New(sg), guard.New(hg)
	s.webhook = callflow.NewWebhook(callflow.WithLogger(cfg.Logger))
	mux := callflow.NewMux(s.webhook, s.modules)
	s.trunks = trunkops.New(s.store, cfg.Logger)
	kept, err := cfg.recordingMedia(ctx)
	if err != nil {
		return err
	}
	if cfg.RecordingRetention > 0 {
		s.sweeper, err = storage.NewSweeper(s.store, storage.SweepOptions{Retention: cfg.RecordingRetention, Logger: cfg.Logger, Media: kept})
		if err != nil {
			return err
		}
	}
	stt, err := cfg.Transcription.recognizer(s)
	if err != nil {
		return err
	}
	s.sttJobs = cfg.Transcription.queue()
	s.events = events.New(events.DefaultLimits, cfg.Logger)
	s.engine = calls.New(calls.Config{
		Store: s.store, Media: s.media, Source: mux, Hooks: mux, Trunks: s.trunks, CallerIDs: callerIDs{s},
		BaseURL: cfg.PublicURL, SIPDomain: cfg.SIPDomain, DataDir: cfg.DataDir, Logger: cfg.Logger,
		Limits: calls.Limits{PerApplication: cfg.MaxCallsPerApplication, PerAccount: cfg.MaxCallsPerAccount,
			PerSource: cfg.MaxCallsPerSource, Exempt: s.sipGuard.Trusted},
		Recognizer: stt, Transcriptions: s.sttJobs, Recordings: kept,
		Feed: feed{s.events},
	})
	s.nodes = cluster.New(cluster.Config{Store: s.store, Heartbeat: cfg.NodeHeartbeat, Reconciler: s.engine, Logger: cfg.Logger,
		Self: store.Node{ID: s.store.NodeID(), SIPAddr: cfg.SIPAddr, MediaIP: ip.String(), Region: cfg.Region, Version: cfg.Version}})
	s.sip, err = sip.NewServer(sip.Config{
		Domain: cfg.SIPDomain, Region: cfg.Region, AdvertisedHost: ip.String(), NonceKey: nonceKey,
		DigestAlgorithms: cfg.DigestAlgorithms, Logger: cfg.Logger, ClientTLS: cfg.SIPClientTLS,
		Guard: s.sipGuard, Stream: cfg.SIPStream, OnRefusal: s.refused, TrustedProxies: cfg.SIPTrustedProxies,
	}, frontDoor{s.store, s.trunks}, s.engine)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	s.engine.SetDialer(calls.SIPDialer{Server: s.sip})
	s.verifier = trunkops.NewVerifier(s.engine, s.store, cfg.SIPRequireVerification, cfg.VerifyCodes, cfg.Logger)
	s.health = trunkops.NewHealth(s.store, s.sip, cfg.SIPHealthInterval, cfg.Logger)
	var resolver *net.Resolver
	if cfg.DNSServer != "" {
		if _, _, err := net.SplitHostPort(cfg.DNSServer); err != nil {
			return fmt.Errorf("--dns-server %q: want host:port: %w", cfg.DNSServer, err)
		}
		resolver = trunkops.Resolver(cfg.DNSServer)
	}
	s.discovery = trunkops.NewDiscoverer(s.sip, resolver, cfg.Logger)
	s.notifier = trunkops.NewNotifier(cfg.Logger)
	alerts := trunkops.NewAlerts(s.store, s.health, s.notifier, cfg.Logger)
	s.health.AfterSweep(alerts.Evaluate)
	s.trunks.UseHealth(s.health, alerts)
	s.api = api.New(api.Config{
		Store: s.store, SIPDomain: cfg.SIPDomain, DigestAlgorithms: s.sip.DigestAlgorithms(), TokenKey: tokenKey, Logger: cfg.Logger, Ready: s.checkReady,
		Calls: voiceAPI{engine: s.engine, regs: s.regs.Load}, Recordings: voiceAPI{engine: s.engine}, PublicURL: cfg.PublicURL, Wasm: host, MaxModuleBytes: cfg.WasmMaxModuleBytes,
		Guard: s.httpGuard, Bans: []api.BanList{s.sipGuard, s.httpGuard}, Health: healthAPI{s.health}, Discovery: discoveryAPI{s.discovery},
		TestCalls:   testCallAPI{trunkops.NewTestCalls(s.engine, s.store, cfg.Logger)},
		TrunkConfig: trunkConfigAPI{s.trunks}, Verification: verifyAPI{s.verifier, cfg.SIPRequireVerification},
		Porting: portingAPI{trunkops.NewPorting(s.store, cfg.DataDir, s.notifier, cfg.Logger)},
		Network: func() api.SIPNetwork { return s.network(ip.String(), lo, hi) }, Transcriber: transcriber{s.engine},
		RecordingMedia: kept, Forwarder: cluster.NewForwarder(s.nodes),
		Console:     s.console(),
		Conferences: voiceAPI{engine: s.engine},
	})
	return nil
}

// Engine is the node's call engine.
func (s *Server) Engine() *calls.Engine { return s.engine }

// SIPListeners are the bound SIP listeners.
func (s *Server) SIPListeners() []sip.Listener { return s.sip.Listeners() }

// Store is the node's store (tests and subcommands use it).
func (s *Server) Store() *store.Store { return s.store }

// API is the node's HTTP API.
func (s *Server) API() *api.Server { return s.api }

func (s *Server) checkReady(ctx context.Context) error {
	if !s.ready.Load() || !s.sip.Ready() || len(s.sip.Listeners()) < s.sipListeners {
		return errors.New("listeners are not up")
	}
	return s.store.Ping(ctx)
}

// Run serves until ctx ends, then shuts down gracefully and closes the store.
// ready, when not nil, receives the bound HTTP address once listeners are up.
func (s *Server) Run(ctx context.Context, ready func(httpAddr net.Addr)) error {
	defer s.store.Close()
	defer s.webhook.Close()
	defer s.closeModules()
	defer s.closeTranscriptions() // after the engine's calls are gone
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", s.cfg.HTTPAddr, err)
	}
	maxConns := s.cfg.HTTPMaxConns
	if maxConns <= 0 {
		maxConns = DefaultHTTPMaxConns
	}
	ln = netutil.LimitListener(ln, maxConns)
	if s.engine.BaseURL() == "" {
		u := "http://" + publicHostPort(ln.Addr(), s.cfg.SIPDomain)
		s.engine.SetBaseURL(u)
		s.api.SetPublicURL(u)
	}
	sipAddr, err := sip.SharedPort(s.cfg.SIPAddr)
	if err != nil {
		ln.Close()
		return err
	}
	if _, port, err := net.SplitHostPort(sipAddr); err == nil {
		p, _ := strconv.Atoi(port)
		s.api.SetSIPPort(p)
	}
	// Calls a crash interrupted are settled before new ones come in,
	// unless another node settled them while this one was down.
	if err := s.recover(ctx, ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	s.failInterruptedTranscriptions(ctx)
	listenCtx, stopListening := context.WithCancel(context.Background())
	defer stopListening()
	g := newListenerGroup(s.log)
	httpAddr, first := ln.Addr().String(), ln
	g.start("http", func() error {
		// A restart binds the address the first listener had.
		l := first
		first = nil
		if l == nil {
			nl, err := net.Listen("tcp", httpAddr)
			if err != nil {
				return err
			}
			l = netutil.LimitListener(nl, maxConns)
		}
		if err := s.http.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if s.cfg.PprofAddr != "" {
		pl, err := net.Listen("tcp", s.cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--pprof-addr %s: %w", s.cfg.PprofAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		stop := context.AfterFunc(listenCtx, func() { ps.Close() })
		defer stop()
		s.log.Info("pprof listening", "addr", pl.Addr().String())
		g.start("pprof", func() error {
			if err := ps.Serve(pl); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	s.sipListeners = 2
	g.start("sip udp", func() error { return s.sip.ListenAndServe(listenCtx, "udp", sipAddr) })
	g.start("sip tcp", func() error { return s.sip.ListenAndServe(listenCtx, "tcp", sipAddr) })
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		s.sipListeners++
		g.start("sip tls", func() error {
			return s.sip.ListenAndServeTLS(listenCtx, s.cfg.SIPTLSAddr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		})
	}
	// Wait until every SIP listener is bound: one that cannot bind (an
	// address in use) fails the start.
	if err := g.waitUp(func() bool { return len(s.sip.Listeners()) >= s.sipListeners }, 10*time.Second); err != nil {
		stopListening()
		s.http.Close()
		g.drain()
		return err
	}
	s.ready.Store(true)
	regs := trunkops.StartRegistrations(listenCtx, s.store, s.sip, s.cfg.Logger)
	s.regs.Store(regs)
	var background sync.WaitGroup // owned here; listenCtx stops them
	jobs := []func(context.Context){
		s.sipGuard.Run, s.httpGuard.Run, s.heartbeat, s.health.Run, s.discovery.Run, s.notifier.Run, s.nodes.Run,
		func(ctx context.Context) { s.trunks.KeepTrusted(ctx, s.cfg.TrustedCIDRs, s.sipGuard.SetTrusted) },
	}
	if s.sweeper != nil {
		jobs = append(jobs, s.sweeper.Run)
	}
	for _, f := range jobs {
		background.Add(1)
		go func() {
			defer background.Done()
			f(listenCtx)
		}()
	}
	defer background.Wait()
	s.log.Info("wasmvoice started", "http", ln.Addr().String(), "sip", fmt.Sprint(s.sip.Listeners()),
		"sipDomain", s.cfg.SIPDomain, "region", s.cfg.Region, "dataDir", s.cfg.DataDir, "store", s.store.Engine().String())
	if ready != nil {
		ready(ln.Addr())
	}
	// From here a listener that ends is started again; only ctx stops the node.
	g.supervise(ctx)
	s.ready.Store(false)
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Hang up calls first (their BYEs need the SIP listeners), then stop
	// listening, then the API.
	if err := s.engine.Shutdown(shutCtx); err != nil {
		s.log.Warn("calls did not end in time", "error", err)
	} else if err := s.nodes.Leave(shutCtx); err != nil {
		s.log.Warn("leave the nodes table", "error", err)
	}
	regs.Stop(shutCtx) // unregister while the SIP listeners still run
	stopListening()
	if err := s.sip.Shutdown(shutCtx); err != nil {
		s.log.Warn("sip shutdown", "error", err)
	}
	if err := s.http.Shutdown(shutCtx); err != nil {
		s.log.Warn("http shutdown", "error", err)
	}
	g.drain()
	return nil
}

// recover settles what a crash of this node interrupted, then registers
// the node (reachable at its API on httpAddr) as live.
func (s *Server) recover(ctx context.Context, httpAddr net.Addr) error {
	own, err := s.nodes.ClaimOwnCalls(ctx)
	if err != nil {
		return fmt.Errorf("crash recovery: %w", err)
	}
	if own {
		_, err = s.engine.Recover(ctx)
	} else {
		_, err = s.engine.RecoverRecordings(ctx)
	}
	if err != nil {
		return fmt.Errorf("crash recovery: %w", err)
	}
	u := s.cfg.NodeAPIURL
	if u == "" {
		u = "http://" + httpAddr.String()
		if ta, ok := httpAddr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
			u = "http://" + net.JoinHostPort(s.advertised.String(), strconv.Itoa(ta.Port))
		}
	}
	s.nodes.SetAPIURL(u)
	if err := s.nodes.Register(ctx); err != nil {
		return err
	}
	return nil
}

// closeModules runs after the engine's calls are gone (deferred in Run).
func (s *Server) closeModules() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.modules.Close(ctx); err != nil {
		s.log.Warn("close wasm host", "error", err)
	}
}

// heartbeat records every store.AliveEvery that the node runs: after a
// crash, it bounds when the interrupted calls ended.
func (s *Server) heartbeat(ctx context.Context) {
	t := time.NewTicker(store.AliveEvery)
	defer t.Stop()
	for {
		if err := s.store.SetAlive(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("heartbeat", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DataDir is the node's data directory, absolute.
func (s *Server) DataDir() string { return s.cfg.DataDir }
