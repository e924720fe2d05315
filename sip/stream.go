package sip

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Stream transports (TCP, TLS) are where a stranger with nothing to say can
// hold a node's file descriptors. The listener sipgo serves is wrapped:
// Accept retries what the kernel reports as passing (out of descriptors, a
// connection aborted before accept) with a back-off instead of ending the
// listener, as net/http does; connections past the global or per-source cap
// are closed at once; and every connection reads under deadlines: a TLS
// handshake, a message from its first byte to its last, the quiet between
// messages.

// Defaults of StreamLimits.
const (
	DefaultMaxConns         = 4096
	DefaultMaxConnsPerIP    = 100
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultMessageTimeout   = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageBytes  = 64 << 10
)

// StreamLimits bound TCP and TLS connections.
type StreamLimits struct {
	// MaxConns caps concurrent connections of a listener; 0 takes a quarter
	// of the process's file-descriptor limit (at least 64, at most
	// DefaultMaxConns), so connections alone can never exhaust descriptors
	// that calls need.
	MaxConns int
	// MaxConnsPerIP caps one source's connections (trusted sources are
	// exempt).
	MaxConnsPerIP int
	// IdleTimeout closes a connection quiet that long between messages;
	// MessageTimeout one whose message started but did not finish in time;
	// HandshakeTimeout a TLS connection without a finished handshake.
	IdleTimeout, MessageTimeout, HandshakeTimeout time.Duration
	// MaxMessageBytes is the largest message (header section and body);
	// a larger one is answered 513 and the connection closed.
	MaxMessageBytes int
}

func (l *StreamLimits) defaults() {
	if l.MaxConns <= 0 {
		l.MaxConns = min(DefaultMaxConns, max(64, fdLimit()/4))
	}
	if l.MaxConnsPerIP <= 0 {
		l.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MessageTimeout <= 0 {
		l.MessageTimeout = DefaultMessageTimeout
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
}

// fdLimit is the process's soft limit on open files (Go raises it to the
// hard limit at start).
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<20 {
		return 1 << 16
	}
	return int(r.Cur)
}

// streamListener is the listener sipgo serves for TCP and TLS.
type streamListener struct {
	net.Listener
	network string // "tcp" or "tls"
	limits  StreamLimits
	tls     *tls.Config // nil for TCP
	srv     *Server
	log     *slog.Logger

	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int
}

func newStreamListener(srv *Server, inner net.Listener, network string, conf *tls.Config) *streamListener {
	limits := srv.cfg.Stream
	limits.defaults()
	return &streamListener{Listener: inner, network: network, limits: limits, tls: conf, srv: srv,
		log: srv.log.With("listener", network), perIP: map[netip.Addr]int{}}
}

// Accept returns the next connection sipgo should serve.
func (l *streamListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !passingAcceptError(err) {
				return nil, err
			}
			// Out of descriptors or a connection aborted in the backlog:
			// wait and go on, as net/http does, instead of ending the
			// listener (and with it the node).
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			streamRefused.WithLabelValues(l.network, "accept_error").Inc()
			if ok, n := l.srv.rejectLogs.Allow(); ok {
				l.log.Warn("accept failed; retrying", "error", err, "retryIn", delay, "suppressed", n)
			}
			time.Sleep(delay)
			continue
		}
		delay = 0
		ip := remoteIP(c)
		if g := l.srv.cfg.Guard; g != nil && g.Banned(ip) {
			streamRefused.WithLabelValues(l.network, "banned").Inc()
			c.Close()
			continue
		}
		if reason := l.admit(ip); reason != "" {
			streamRefused.WithLabelValues(l.network, reason).Inc()
			if ok, n := l.srv.rejectLogs.Allow(); ok {
				l.log.Info("connection refused", "source", ip.String(), "reason", reason, "suppressed", n)
			}
			c.Close()
			continue
		}
		streamConns.WithLabelValues(l.network).Inc()
		sc := &streamConn{Conn: c, l: l, ip: ip, accepted: time.Now(), frame: framer{max: l.limits.MaxMessageBytes}}
		if l.tls != nil {
			sc.tlsConn = tls.Server(c, l.tls)
		}
		return sc, nil
	}
}

// passingAcceptError reports whether an Accept error is one the listener
// outlives.
func passingAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// admit takes a connection slot for ip, or says why there is none.
func (l *streamListener) admit(ip netip.Addr) string {
	trusted := l.srv.cfg.Guard != nil && l.srv.cfg.Guard.Trusted(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.limits.MaxConns {
		return "max_conns"
	}
	if !trusted && l.perIP[ip] >= l.limits.MaxConnsPerIP {
		return "max_conns_per_ip"
	}
	l.total++
	l.perIP[ip]++
	return ""
}

func (l *streamListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
	streamConns.WithLabelValues(l.network).Dec()
}

func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// streamReadSize is how much one read of a connection takes.
const streamReadSize = 4 << 10

// streamConn is one accepted connection: deadlines on every read, message
// framing (see framer), the flood guard per message.
type streamConn struct {
	net.Conn
	tlsConn  *tls.Conn // nil for TCP; reads and writes go through it
	l        *streamListener
	ip       netip.Addr
	accepted time.Time

	mu      sync.Mutex // one reader (sipgo's loop); held across a read
	frame   framer
	frames  []frame
	raw     []byte
	pending []byte    // bytes for sipgo not yet read
	lastMsg time.Time // end of the last read that left the framer idle
	closed  atomic.Bool
}

func (c *streamConn) conn() net.Conn {
	if c.tlsConn != nil {
		return c.tlsConn
	}
	return c.Conn
}

// deadline is when the current read must have returned.
func (c *streamConn) deadline(now time.Time) time.Time {
	lim := &c.l.limits
	switch {
	case c.tlsConn != nil && !c.tlsConn.ConnectionState().HandshakeComplete:
		return c.accepted.Add(lim.HandshakeTimeout)
	case c.frame.inMessage():
		return c.frame.start.Add(lim.MessageTimeout)
	case !c.lastMsg.IsZero():
		return c.lastMsg.Add(lim.IdleTimeout)
	}
	return c.accepted.Add(lim.IdleTimeout)
}

// Read returns the bytes sipgo may parse: whole messages that passed
// sanitize, and keep-alives. A timeout or a refused connection ends as an
// EOF, so sipgo closes it quietly; the reason is in metrics and (sampled) in
// the log.
func (c *streamConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) == 0 {
		now := time.Now()
		d := c.deadline(now)
		var err error
		if c.tlsConn != nil && !c.tlsConn.ConnectionState().HandshakeComplete {
			err = c.conn().SetDeadline(d) // the handshake writes too
		} else {
			err = c.conn().SetReadDeadline(d)
		}
		if err != nil {
			return 0, err
		}
		// Reads are small (most messages fit one), so an idle connection
		// holds little.
		if c.raw == nil {
			c.raw = make([]byte, streamReadSize)
		}
		n, err := c.conn().Read(c.raw)
		if n > 0 {
			frames, ferr := c.frame.feed(c.frames[:0], c.raw[:n], time.Now())
			c.frames = frames
			if ferr == nil {
				ferr = c.take(frames)
			}
			if ferr != nil {
				return 0, c.refuse(ferr)
			}
			if !c.frame.inMessage() {
				c.lastMsg = time.Now()
			}
			clear(c.frames)
		}
		if err != nil && len(c.pending) == 0 {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, c.refuse(c.timeoutReason())
			}
			return 0, err
		}
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return n, nil
}

// take queues the frames sipgo may parse: keep-alives, and messages that the
// flood guard lets through and sanitize passes (those it refuses are
// answered here and dropped; the connection goes on).
func (c *streamConn) take(frames []frame) error {
	for _, f := range frames {
		if f.keepalive {
			c.pending = append(c.pending, f.data...)
			continue
		}
		if g := c.l.srv.cfg.Guard; g != nil && !g.Allow(c.ip) {
			return errBanned
		}
		msg, v := sanitize(f.data, false)
		if v.status != 0 {
			c.l.srv.refuseRaw(msg, v, c.l.network, c.ip.String(), func(resp []byte) {
				_ = c.conn().SetWriteDeadline(time.Now().Add(c.l.limits.MessageTimeout))
				_, _ = c.conn().Write(resp)
			})
			continue
		}
		c.pending = append(c.pending, msg...)
	}
	return nil
}

var errBanned = errors.New("source banned")

type timeoutError string

func (e timeoutError) Error() string { return string(e) }

func (c *streamConn) timeoutReason() error {
	switch {
	case c.tlsConn != nil && !c.tlsConn.ConnectionState().HandshakeComplete:
		return timeoutError("handshake_timeout")
	case c.frame.inMessage():
		return timeoutError("message_timeout")
	}
	return timeoutError("idle_timeout")
}

// refuse ends the connection for err: a 513 first for a message too large,
// then EOF to sipgo.
func (c *streamConn) refuse(err error) error {
	reason := "closed"
	var te timeoutError
	switch {
	case errors.As(err, &te):
		reason = string(te)
	case errors.Is(err, errMessageTooLarge), errors.Is(err, errBadLength):
		status, phrase := 513, "Message Too Large"
		reason = "message_too_large"
		if errors.Is(err, errBadLength) {
			status, phrase, reason = 400, "Bad Request", "bad_content_length"
		}
		if resp := errorResponse(c.frame.header(), status, phrase); resp != nil {
			_ = c.conn().SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.conn().Write(resp)
		}
	case errors.Is(err, errJunk):
		reason = "junk"
	case errors.Is(err, errBanned):
		reason = "banned"
	}
	streamRefused.WithLabelValues(c.l.network, reason).Inc()
	if reason != "idle_timeout" && reason != "banned" {
		if ok, n := c.l.srv.rejectLogs.Allow(); ok {
			c.l.log.Info("connection closed", "source", c.ip.String(), "reason", reason, "suppressed", n)
		}
	}
	return io.EOF
}

// Write bounds how long a peer that stops reading can hold a writer.
func (c *streamConn) Write(b []byte) (int, error) {
	if err := c.conn().SetWriteDeadline(time.Now().Add(c.l.limits.MessageTimeout)); err != nil {
		return 0, err
	}
	return c.conn().Write(b)
}

// Close releases the connection's slot once.
func (c *streamConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.l.release(c.ip)
	return c.conn().Close()
}

func (c *streamConn) SetDeadline(t time.Time) error      { return c.conn().SetDeadline(t) }
func (c *streamConn) SetReadDeadline(t time.Time) error  { return c.conn().SetReadDeadline(t) }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return c.conn().SetWriteDeadline(t) }
