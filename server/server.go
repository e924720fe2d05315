package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/store"
)

// Server is one running node.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	api   *api.Server
	http  *http.Server
	ready atomic.Bool

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
	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: st}
	if s.FirstCredentials, err = FirstStart(ctx, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("first start: %w", err)
	}
	tokenKey, err := loadKey(ctx, st, settingTokenKey)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.api = api.New(api.Config{
		Store: st, SIPDomain: cfg.SIPDomain, TokenKey: tokenKey, Logger: cfg.Logger, Ready: s.checkReady,
	})
	s.http = &http.Server{
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Store is the node's store (tests and subcommands use it).
func (s *Server) Store() *store.Store { return s.store }

// API is the node's HTTP API.
func (s *Server) API() *api.Server { return s.api }

func (s *Server) checkReady(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("listeners are not up")
	}
	return s.store.Ping(ctx)
}

// Run serves until ctx ends, then shuts down gracefully and closes the store.
// ready, when not nil, receives the bound HTTP address once listeners are up.
func (s *Server) Run(ctx context.Context, ready func(httpAddr net.Addr)) error {
	defer s.store.Close()
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", s.cfg.HTTPAddr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	s.ready.Store(true)
	s.log.Info("wasmvoice started", "http", ln.Addr().String(), "sip_domain", s.cfg.SIPDomain, "region", s.cfg.Region, "data_dir", s.cfg.DataDir)
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	}
	s.ready.Store(false)
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	<-errc
	return nil
}
