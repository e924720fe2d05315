package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// ListenAndServe serves SIP on network "udp" or "tcp" (or their 4/6
// variants) at addr until ctx ends, then closes the socket and returns nil.
// UDP sockets get a 4 MiB receive buffer (or the most the kernel allows).
func (s *Server) ListenAndServe(ctx context.Context, network, addr string) error {
	network = strings.ToLower(network)
	s.beginListen()
	switch network {
	case "udp", "udp4", "udp6":
		laddr, err := net.ResolveUDPAddr(network, addr)
		if err != nil {
			s.endListen(nil)
			return fmt.Errorf("sip: resolve %s %s: %w", network, addr, err)
		}
		conn, err := net.ListenUDP(network, laddr)
		if err != nil {
			s.endListen(nil)
			return fmt.Errorf("sip: listen %s %s: %w", network, addr, err)
		}
		if got, err := enlargeUDPBuffer(conn, udpReadBuffer); err != nil {
			s.log.Warn("cannot enlarge UDP receive buffer", "addr", conn.LocalAddr().String(), "error", err)
		} else if got < udpReadBuffer {
			s.log.Warn("UDP receive buffer smaller than asked (raise net.core.rmem_max)", "addr", conn.LocalAddr().String(), "bytes", got, "want", udpReadBuffer)
		}
		key := conn.LocalAddr().String()
		s.udpConns.Store(key, conn)
		defer s.udpConns.Delete(key)
		return s.serve(ctx, "udp", conn, conn.LocalAddr(), func() error { return s.srv.ServeUDP(conn) })
	case "tcp", "tcp4", "tcp6":
		laddr, err := net.ResolveTCPAddr(network, addr)
		if err != nil {
			s.endListen(nil)
			return fmt.Errorf("sip: resolve %s %s: %w", network, addr, err)
		}
		l, err := net.ListenTCP(network, laddr)
		if err != nil {
			s.endListen(nil)
			return fmt.Errorf("sip: listen %s %s: %w", network, addr, err)
		}
		sl := newStreamListener(s, l, "tcp", nil)
		return s.serve(ctx, "tcp", l, l.Addr(), func() error { return s.srv.ServeTCP(sl) })
	}
	s.endListen(nil)
	return fmt.Errorf("sip: network %q not supported (udp, tcp)", network)
}

// ListenAndServeTLS serves SIP over TLS at addr until ctx ends. TLS 1.2 is
// the minimum whatever conf says; conf needs a certificate.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string, conf *tls.Config) error {
	if conf == nil || (len(conf.Certificates) == 0 && conf.GetCertificate == nil && conf.GetConfigForClient == nil) {
		return errors.New("sip: TLS listener needs a certificate")
	}
	conf = conf.Clone()
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	s.beginListen()
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		s.endListen(nil)
		return fmt.Errorf("sip: listen tls %s: %w", addr, err)
	}
	// The stream listener runs the handshake (under its timeout) itself.
	l := newStreamListener(s, inner, "tls", conf)
	return s.serve(ctx, "tls", inner, inner.Addr(), func() error { return s.srv.ServeTLS(l) })
}

func (s *Server) serve(ctx context.Context, network string, closer io.Closer, addr net.Addr, run func() error) error {
	st := &listenerState{Listener: Listener{Network: network, Addr: addr.String()}}
	if a, ok := addr.(*net.UDPAddr); ok {
		st.port = a.Port
	} else if a, ok := addr.(*net.TCPAddr); ok {
		st.port = a.Port
	}
	stop := context.AfterFunc(ctx, func() { closer.Close() })
	defer stop()
	s.endListen(st)
	s.log.Info("sip listening", "network", network, "addr", st.Addr)
	err := run()
	s.lmu.Lock()
	delete(s.listeners, st)
	s.lmu.Unlock()
	closer.Close()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sip: %s listener %s stopped", network, st.Addr)
	}
	return fmt.Errorf("sip: serve %s %s: %w", network, st.Addr, err)
}

func (s *Server) beginListen() {
	s.lmu.Lock()
	s.starting++
	s.lmu.Unlock()
}

// endListen finishes a beginListen; st is the bound listener or nil when
// binding failed.
func (s *Server) endListen(st *listenerState) {
	s.lmu.Lock()
	s.starting--
	if st != nil {
		s.listeners[st] = struct{}{}
	}
	s.lmu.Unlock()
}
