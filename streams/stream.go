// Package streams forks a call's audio to WebSocket servers, as Bandwidth's
// <StartStream> does: a start message, then a media message (base64 PCMU)
// for every 20 ms of each streamed track, then stop; on a bidirectional
// stream the server sends audio back (playAudio) that the caller hears.
//
// A stream never holds up the call's media: the packet path only encodes a
// frame and offers it to a bounded queue (a full queue drops the frame and
// counts it); one writer goroutine per stream, owned by the stream, does
// the network writes, and the audio a server sends back waits in a bounded
// media.Feed that the media clock plays from.
package streams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wasmvoice/wasmvoice/media"
)

// Stop causes, as mediaStreamStopped names them.
const (
	CauseClosed          = "closed"
	CauseConnectionError = "connection-error"
	CauseError           = "error"
)

// Limits bound what one stream may take.
type Limits struct {
	// Queue is how many media messages may wait for the writer (default
	// 250: 5 s of one track); beyond it frames are dropped and counted.
	Queue int
	// DialTimeout bounds the TCP, TLS and WebSocket handshakes (default
	// 10 s); WriteTimeout each message written (default 5 s).
	DialTimeout  time.Duration
	WriteTimeout time.Duration
	// ReadLimit is the largest message the server may send (default
	// 1 MiB; a larger one ends the stream).
	ReadLimit int64
	// FeedSamples is how much audio a bidirectional stream's server may
	// send ahead of playback (default 60 s at 8 kHz); more is dropped.
	FeedSamples int
}

func (l Limits) withDefaults() Limits {
	if l.Queue <= 0 {
		l.Queue = 250
	}
	if l.DialTimeout <= 0 {
		l.DialTimeout = 10 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 5 * time.Second
	}
	if l.ReadLimit <= 0 {
		l.ReadLimit = 1 << 20
	}
	if l.FeedSamples <= 0 {
		l.FeedSamples = 60 * 8000
	}
	return l
}

// Config is one stream of one call.
type Config struct {
	AccountID, CallID string
	StreamID, Name    string
	// Destination is the ws:// or wss:// URL; Username and Password, when
	// set, go in a Basic Authorization header on the handshake.
	Destination        string
	Username, Password string
	Inbound, Outbound  bool
	Bidirectional      bool
	Params             map[string]string
	Limits             Limits
	Logger             *slog.Logger
	// HTTPClient dials the handshake (nil: a default client).
	HTTPClient *http.Client
	// StartMessage and StopMessage, when set, replace the media stream's
	// start and stop messages: a real-time transcription's destination
	// gets its own (and Send, not Push, carries its messages).
	StartMessage, StopMessage any
}

// Result is how a stream ended.
type Result struct {
	Cause        string // CauseClosed, CauseConnectionError, CauseError
	ErrorMessage string
	Sent         uint64 // media messages written
	Dropped      uint64 // media messages dropped on a full queue
	Duration     time.Duration
}

// Stream is a live stream. Push feeds it; Stop ends it.
type Stream struct {
	cfg    Config
	lim    Limits
	log    *slog.Logger
	conn   *websocket.Conn
	feed   *media.Feed
	start  time.Time
	q      chan *[]byte
	stop   chan struct{}
	lost   chan struct{} // closed by the reader when the connection ends
	done   chan struct{}
	ended  atomic.Bool
	seq    atomic.Uint64
	pos    [2]atomic.Uint64 // inbound, outbound position in ms
	sent   atomic.Uint64
	drops  atomic.Uint64
	bad    atomic.Uint64 // unusable messages from the server
	once   sync.Once
	lostMu sync.Once

	mu     sync.Mutex
	cause  string
	errMsg string
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, mediaMessageSize); return &b }}

// ErrDestination is returned for a destination that is not ws(s)://.
var ErrDestination = errors.New("stream destination must be a ws:// or wss:// URL")

// Dial connects to cfg.Destination, sends the start message and starts the
// stream's writer and reader. ctx bounds the handshake (with
// Limits.DialTimeout). A failure leaves nothing running.
func Dial(ctx context.Context, cfg Config) (*Stream, error) {
	if !strings.HasPrefix(cfg.Destination, "ws://") && !strings.HasPrefix(cfg.Destination, "wss://") {
		return nil, ErrDestination
	}
	lim := cfg.Limits.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("streamId", cfg.StreamID, "streamName", cfg.Name)
	opts := &websocket.DialOptions{HTTPClient: cfg.HTTPClient, HTTPHeader: http.Header{}}
	if cfg.Username != "" || cfg.Password != "" {
		opts.HTTPHeader.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	dctx, cancel := context.WithTimeout(ctx, lim.DialTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, cfg.Destination, opts)
	if err != nil {
		metricStreams.WithLabelValues("rejected").Inc()
		return nil, fmt.Errorf("streams: connecting to %s: %w", redact(cfg.Destination), err)
	}
	conn.SetReadLimit(lim.ReadLimit)
	s := &Stream{cfg: cfg, lim: lim, log: log, conn: conn, start: time.Now(),
		q: make(chan *[]byte, lim.Queue), stop: make(chan struct{}), lost: make(chan struct{}), done: make(chan struct{})}
	if cfg.Bidirectional {
		s.feed = media.NewFeed(lim.FeedSamples)
	}
	if err := s.writeJSON(dctx, s.control("start")); err != nil {
		conn.CloseNow()
		metricStreams.WithLabelValues("rejected").Inc()
		return nil, fmt.Errorf("streams: start message: %w", err)
	}
	metricStreams.WithLabelValues("started").Inc()
	metricActive.Inc()
	read := make(chan struct{})
	go s.read(read)
	go s.write(read)
	return s, nil
}

// redact drops credentials a destination URL may carry, for logs.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}

func (s *Stream) control(eventType string) any {
	switch {
	case eventType == "start" && s.cfg.StartMessage != nil:
		return s.cfg.StartMessage
	case eventType == "stop" && s.cfg.StopMessage != nil:
		return s.cfg.StopMessage
	}
	var tracks []TrackInfo
	if s.cfg.Inbound {
		tracks = append(tracks, TrackInfo{Name: TrackInbound, MediaFormat: pcmuFormat})
	}
	if s.cfg.Outbound {
		tracks = append(tracks, TrackInfo{Name: TrackOutbound, MediaFormat: pcmuFormat})
	}
	c := Control{EventType: eventType, Metadata: Metadata{AccountID: s.cfg.AccountID, CallID: s.cfg.CallID,
		StreamID: s.cfg.StreamID, StreamName: s.cfg.Name, Tracks: tracks}}
	if eventType == "start" {
		c.StreamParams = s.cfg.Params
	}
	return c
}

func (s *Stream) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.conn.Write(ctx, websocket.MessageText, b)
}

// Feed is the audio the server sent back (nil unless bidirectional); the
// caller attaches it to the leg (media.Leg.SetFeed).
func (s *Stream) Feed() *media.Feed { return s.feed }

// Push offers one frame of a track to the stream: out is false for the
// inbound track (what the caller said), true for the outbound one. It runs
// on the packet path: it encodes the media message and never waits; when
// the queue is full the frame is dropped and counted.
func (s *Stream) Push(out bool, pcm []int16) {
	if s.ended.Load() || (out && !s.cfg.Outbound) || (!out && !s.cfg.Inbound) {
		return
	}
	track, i := TrackInbound, 0
	if out {
		track, i = TrackOutbound, 1
	}
	ms := s.pos[i].Add(uint64(len(pcm)/8)) - uint64(len(pcm)/8)
	bp := bufPool.Get().(*[]byte)
	*bp = appendMedia((*bp)[:0], track, s.seq.Add(1), ms, pcm)
	select {
	case s.q <- bp:
	default:
		bufPool.Put(bp)
		s.drops.Add(1)
		metricDropped.Inc()
	}
}

// Send offers one message (JSON text) to the stream's queue without
// waiting; false when the stream has ended or its queue is full (the
// message is then dropped and counted).
func (s *Stream) Send(msg []byte) bool {
	if s.ended.Load() {
		return false
	}
	bp := bufPool.Get().(*[]byte)
	*bp = append((*bp)[:0], msg...)
	select {
	case s.q <- bp:
		return true
	default:
		bufPool.Put(bp)
		s.drops.Add(1)
		metricDropped.Inc()
		return false
	}
}

// Stop ends the stream: what is queued is written (within WriteTimeout),
// then the stop message, then the WebSocket closes. It does not wait; Done
// is closed once it is over.
func (s *Stream) Stop() { s.once.Do(func() { close(s.stop) }) }

// Done is closed when the stream has ended and its goroutines are gone.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Dropped is how many media messages were dropped so far.
func (s *Stream) Dropped() uint64 { return s.drops.Load() }

// Result is how the stream ended; valid once Done is closed.
func (s *Stream) Result() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Result{Cause: s.cause, ErrorMessage: s.errMsg, Sent: s.sent.Load(), Dropped: s.drops.Load(), Duration: time.Since(s.start)}
}

func (s *Stream) fail(cause, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cause == "" {
		s.cause, s.errMsg = cause, msg
	}
}

// write is the stream's writer: it owns the connection's writes and its
// close, and ends the stream once the reader is gone too.
func (s *Stream) write(readerDone <-chan struct{}) {
	defer func() {
		s.ended.Store(true)
		s.conn.CloseNow()
		<-readerDone
		s.fail(CauseClosed, "")
		s.drain()
		metricActive.Dec()
		r := s.Result()
		s.log.Info("media stream ended", "cause", r.Cause, "error", r.ErrorMessage, "sent", r.Sent, "dropped", r.Dropped,
			"duration", r.Duration.Round(time.Millisecond))
		close(s.done)
	}()
	for {
		select {
		case bp := <-s.q:
			if err := s.send(context.Background(), bp); err != nil {
				s.fail(CauseConnectionError, err.Error())
				return
			}
		case <-s.lost:
			return
		case <-s.stop:
			s.finish()
			return
		}
	}
}

// send writes one queued message and returns its buffer to the pool.
func (s *Stream) send(ctx context.Context, bp *[]byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.lim.WriteTimeout)
	defer cancel()
	err := s.conn.Write(ctx, websocket.MessageText, *bp)
	bufPool.Put(bp)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", redact(s.cfg.Destination), err)
	}
	s.sent.Add(1)
	metricSent.Inc()
	return nil
}

// finish flushes what is queued, sends stop and closes the WebSocket
// normally, all within one WriteTimeout.
func (s *Stream) finish() {
	s.ended.Store(true) // no more frames: the flush is bounded
	ctx, cancel := context.WithTimeout(context.Background(), s.lim.WriteTimeout)
	defer cancel()
	for n := len(s.q); n > 0; n-- {
		if err := s.send(ctx, <-s.q); err != nil {
			s.fail(CauseConnectionError, err.Error())
			return
		}
	}
	if err := s.writeJSON(ctx, s.control("stop")); err != nil {
		s.fail(CauseConnectionError, fmt.Sprintf("stop message: %v", err))
		return
	}
	s.fail(CauseClosed, "")
	s.conn.Close(websocket.StatusNormalClosure, "stream stopped")
}

// drain returns the buffers of frames that were never written.
func (s *Stream) drain() {
	for {
		select {
		case bp := <-s.q:
			bufPool.Put(bp)
		default:
			return
		}
	}
}

// read reads what the server sends until the connection ends: playAudio
// and clear on a bidirectional stream; anything else is counted and
// logged (sparingly) and does not end the stream.
func (s *Stream) read(done chan<- struct{}) {
	defer close(done)
	for {
		_, b, err := s.conn.Read(context.Background())
		if err != nil {
			select {
			case <-s.stop:
			default:
				if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
					s.fail(CauseClosed, "")
				} else {
					s.fail(CauseConnectionError, err.Error())
				}
			}
			s.lostMu.Do(func() { close(s.lost) })
			return
		}
		s.receive(b)
	}
}

func (s *Stream) receive(b []byte) {
	if s.feed == nil {
		s.badMessage(fmt.Errorf("%w: a unidirectional stream takes no messages", errBadMessage))
		return
	}
	pcm, clear, err := decodeInbound(b)
	switch {
	case err != nil:
		s.badMessage(err)
	case clear:
		s.feed.Clear()
	default:
		if n := s.feed.Push(pcm); n > 0 {
			s.log.Debug("media stream: played audio dropped, the feed is full", "samples", n)
		}
		metricPlayed.Add(float64(len(pcm)))
	}
}

// badMessage logs the first unusable message and every 100th after it.
func (s *Stream) badMessage(err error) {
	metricBadMessages.Inc()
	if n := s.bad.Add(1); n == 1 || n%100 == 0 {
		s.log.Warn("media stream: message from the server ignored", "error", err, "count", n)
	}
}
