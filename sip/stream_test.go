package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

func streamOptions(callID string) string {
	return "OPTIONS sip:ping@" + testDomain + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-" + callID + "\r\n" +
		"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ping@" + testDomain + ">\r\nCall-ID: " + callID + "\r\nCSeq: 1 OPTIONS\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// readStatus reads one response's status line (and the rest of its header
// section) from r.
func readStatus(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	return strings.TrimSpace(line)
}

// closedSoon reports whether the server closes c within d (bytes still
// arriving are read and dropped).
func closedSoon(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// One source gets MaxConnsPerIP connections; more are closed at once, and
// a slot freed is taken again.
func TestStreamConnectionCaps(t *testing.T) {
	cfg := testConfig()
	cfg.Stream = StreamLimits{MaxConnsPerIP: 3}
	_, addrs := startServer(t, cfg, newTestEngine(true), "tcp")
	var held []net.Conn
	for i := range 3 {
		c := dialTCP(t, addrs["tcp"])
		if _, err := io.WriteString(c, streamOptions(fmt.Sprint("cap-", i))); err != nil {
			t.Fatal(err)
		}
		if got := readStatus(t, c, bufio.NewReader(c)); !strings.HasPrefix(got, "SIP/2.0 200") {
			t.Fatalf("connection %d: %q", i, got)
		}
		held = append(held, c)
	}
	extra := dialTCP(t, addrs["tcp"])
	if !closedSoon(extra, 2*time.Second) {
		t.Fatal("a fourth connection from one source was kept")
	}
	held[0].Close()
	// The server notices the close in its own time; until then a new
	// connection is still one too many and is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		again := dialTCP(t, addrs["tcp"])
		io.WriteString(again, streamOptions("cap-again"))
		again.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := bufio.NewReader(again).ReadString('\n')
		if strings.HasPrefix(got, "SIP/2.0 200") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a slot was freed: %q %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A connection that says nothing, or starts a message and never finishes
// it, is closed after its timeout; one that keeps talking stays.
func TestStreamTimeouts(t *testing.T) {
	cfg := testConfig()
	// The talker's pauses are a fifth of the timeouts and its talk outlasts
	// them: a loaded machine's stall does not close it, and it could only
	// stay open by talking.
	cfg.Stream = StreamLimits{IdleTimeout: 1500 * time.Millisecond, MessageTimeout: 1500 * time.Millisecond}
	_, addrs := startServer(t, cfg, newTestEngine(true), "tcp")

	silent := dialTCP(t, addrs["tcp"])
	slow := dialTCP(t, addrs["tcp"])
	io.WriteString(slow, streamOptions("slow")[:40]) // a slowloris: half a message
	talker := dialTCP(t, addrs["tcp"])
	r := bufio.NewReader(talker)
	for i := range 7 {
		io.WriteString(talker, streamOptions(fmt.Sprint("talk-", i)))
		if got := readStatus(t, talker, r); !strings.HasPrefix(got, "SIP/2.0 200") {
			t.Fatalf("message %d: %q", i, got)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !closedSoon(silent, 5*time.Second) {
		t.Error("a silent connection outlived the idle timeout")
	}
	if !closedSoon(slow, 5*time.Second) {
		t.Error("a connection with half a message outlived the message timeout")
	}
}

// A message over the size limit is answered 513 and the connection closed;
// junk between messages is dropped without closing it (RFC 4475: the message
// before trailing bytes is answered).
func TestStreamTooLargeAndJunk(t *testing.T) {
	cfg := testConfig()
	cfg.Stream = StreamLimits{MaxMessageBytes: 2048}
	_, addrs := startServer(t, cfg, newTestEngine(true), "tcp")

	c := dialTCP(t, addrs["tcp"])
	big := strings.Replace(streamOptions("big"), "Content-Length: 0", "Content-Length: 5000", 1)
	io.WriteString(c, big)
	if got := readStatus(t, c, bufio.NewReader(c)); got != "SIP/2.0 513 Message Too Large" {
		t.Fatalf("large message: %q", got)
	}
	if !closedSoon(c, 2*time.Second) {
		t.Fatal("connection kept after a message too large")
	}

	j := dialTCP(t, addrs["tcp"])
	r := bufio.NewReader(j)
	io.WriteString(j, streamOptions("before-junk")+"this is not SIP at all\r\n")
	if got := readStatus(t, j, r); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("message before junk: %q", got)
	}
	io.WriteString(j, streamOptions("after-junk"))
	if got := readStatus(t, j, r); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("message after junk: %q", got)
	}
}

// A TLS connection that never completes its handshake is closed after the
// handshake timeout.
func TestStreamTLSHandshakeTimeout(t *testing.T) {
	cert, pool := testCert(t)
	cfg := testConfig()
	cfg.Stream = StreamLimits{HandshakeTimeout: 1500 * time.Millisecond}
	srv, err := NewServer(cfg, testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	served := testenv.Go(t, func(ctx context.Context) error {
		return srv.ListenAndServeTLS(ctx, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	})
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("tls listener: %v", err)
		}
	})
	addr := waitListeners(t, srv, 1)["tls"]
	idle := dialTCP(t, addr)
	if !closedSoon(idle, 6*time.Second) {
		t.Fatal("a connection without a handshake outlived the handshake timeout")
	}
	// A real client still gets through.
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, strings.ReplaceAll(streamOptions("tls"), "SIP/2.0/TCP", "SIP/2.0/TLS"))
	if got := readStatus(t, c, bufio.NewReader(c)); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("over TLS: %q", got)
	}
}

// fakeListener returns the errors it was given, then a connection.
type fakeListener struct {
	mu   sync.Mutex
	errs []error
	conn net.Conn
}

func (l *fakeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	if l.conn == nil {
		return nil, net.ErrClosed
	}
	c := l.conn
	l.conn = nil
	return c, nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

// Running out of file descriptors does not end the listener: Accept waits
// and tries again; a closed listener ends it.
func TestStreamAcceptOutlivesEMFILE(t *testing.T) {
	srv, err := NewServer(testConfig(), testApps(t), newTestEngine(true))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: &osSyscallError{syscall.EMFILE}}
	fl := &fakeListener{errs: []error{emfile, emfile, &net.OpError{Op: "accept", Err: &osSyscallError{syscall.ECONNABORTED}}}, conn: &tcpish{a}}
	l := newStreamListener(srv, fl, "tcp", nil)
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept after passing errors: %v", err)
	}
	c.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v", err)
	}
}

type osSyscallError struct{ errno syscall.Errno }

func (e *osSyscallError) Error() string { return e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }

// tcpish is a pipe end that reports TCP addresses.
type tcpish struct{ net.Conn }

func (c *tcpish) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
