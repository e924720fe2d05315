package streams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wasmvoice/wasmvoice/media/g711"
)

// wsServer is a stream destination for tests: it records every message and
// the Authorization header, and runs reply (if set) for each connection.
type wsServer struct {
	*httptest.Server
	mu    sync.Mutex
	msgs  []map[string]any
	auth  string
	conns []*websocket.Conn
	hold  chan struct{} // when set, the server stops reading until it closes
	reply func(ctx context.Context, c *websocket.Conn)
}

func newWSServer(t *testing.T) *wsServer {
	s := &wsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		s.mu.Lock()
		s.auth = r.Header.Get("Authorization")
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		if s.reply != nil {
			go s.reply(r.Context(), c)
		}
		for {
			if s.hold != nil {
				select {
				case <-s.hold:
				case <-r.Context().Done():
					return
				}
			}
			_, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				s.mu.Lock()
				s.msgs = append(s.msgs, m)
				s.mu.Unlock()
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// kill drops every connection without a close handshake, as a server
// that crashed would (httptest's CloseClientConnections does not reach
// hijacked connections).
func (s *wsServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.CloseNow()
	}
}

func (s *wsServer) url() string { return "ws" + strings.TrimPrefix(s.URL, "http") }

func (s *wsServer) messages() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.msgs...)
}

func (s *wsServer) waitFor(t *testing.T, eventType string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range s.messages() {
			if m["eventType"] == eventType {
				return m
			}
		}
	}
	t.Fatalf("no %s message; got %v", eventType, s.messages())
	return nil
}

func waitDone(t *testing.T, s *Stream) Result {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end")
	}
	return s.Result()
}

func tone(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(1000 * (i%8 - 4))
	}
	return pcm
}

// start (with metadata, tracks and params), media for each pushed frame of
// each track with sequence numbers and timestamps, then stop; Basic auth
// on the handshake.
func TestStreamMessages(t *testing.T) {
	srv := newWSServer(t)
	s, err := Dial(context.Background(), Config{AccountID: "9900000", CallID: "c-1", StreamID: "s-1", Name: "live",
		Destination: srv.url(), Username: "user", Password: "pass", Inbound: true, Outbound: true,
		Params: map[string]string{"internal_id": "call_ABC"}})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160)
	for range 3 {
		s.Push(false, frame)
		s.Push(true, frame)
	}
	s.Stop()
	res := waitDone(t, s)
	if res.Cause != CauseClosed || res.Sent != 6 || res.Dropped != 0 {
		t.Fatalf("result %+v", res)
	}
	start := srv.waitFor(t, "start")
	md := start["metadata"].(map[string]any)
	if md["accountId"] != "9900000" || md["callId"] != "c-1" || md["streamId"] != "s-1" || md["streamName"] != "live" {
		t.Errorf("start metadata %v", md)
	}
	tracks := md["tracks"].([]any)
	if len(tracks) != 2 || tracks[0].(map[string]any)["name"] != "inbound" ||
		tracks[0].(map[string]any)["mediaFormat"].(map[string]any)["encoding"] != "audio/PCMU" {
		t.Errorf("tracks %v", tracks)
	}
	if start["streamParams"].(map[string]any)["internal_id"] != "call_ABC" {
		t.Errorf("streamParams %v", start["streamParams"])
	}
	srv.waitFor(t, "stop")
	var seq float64
	var inTS []float64
	for _, m := range srv.messages() {
		if m["eventType"] != "media" {
			continue
		}
		if m["sequenceNumber"].(float64) != seq+1 {
			t.Errorf("sequenceNumber %v after %v", m["sequenceNumber"], seq)
		}
		seq = m["sequenceNumber"].(float64)
		raw, err := base64.StdEncoding.DecodeString(m["payload"].(string))
		if err != nil || len(raw) != 160 || g711.DecodeUlaw(raw[1]) != g711.DecodeUlaw(g711.EncodeUlaw(frame[1])) {
			t.Errorf("payload %v %d", err, len(raw))
		}
		if m["track"] == "inbound" {
			inTS = append(inTS, m["timestamp"].(float64))
		}
	}
	if len(inTS) != 3 || inTS[0] != 0 || inTS[1] != 20 || inTS[2] != 40 {
		t.Errorf("inbound timestamps %v", inTS)
	}
	if msgs := srv.messages(); msgs[len(msgs)-1]["eventType"] != "stop" {
		t.Errorf("last message %v", msgs[len(msgs)-1])
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.auth != "Basic "+base64.StdEncoding.EncodeToString([]byte("user:pass")) {
		t.Errorf("Authorization %q", srv.auth)
	}
}

// A server that stops reading never blocks Push: the queue fills, frames
// are dropped and counted, and Stop still ends the stream in bounded time.
func TestStreamSlowServerDrops(t *testing.T) {
	srv := newWSServer(t)
	srv.hold = make(chan struct{})
	defer close(srv.hold)
	s, err := Dial(context.Background(), Config{StreamID: "s-slow", Destination: srv.url(), Inbound: true,
		Limits: Limits{Queue: 8, WriteTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160)
	// Enough to fill the socket buffers and the queue many times over.
	for range 20000 {
		s.Push(false, frame)
	}
	if s.Dropped() == 0 {
		t.Fatal("nothing dropped")
	}
	s.Stop()
	res := waitDone(t, s)
	if res.Dropped == 0 || res.Sent+res.Dropped > 20000 {
		t.Errorf("result %+v", res)
	}
	t.Logf("%+v", res)
}

// A destination that is not listening fails Dial; one that is not a
// WebSocket URL is refused before dialling.
func TestStreamDialErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	if _, err := Dial(context.Background(), Config{Destination: "ws" + strings.TrimPrefix(addr, "http"), Limits: Limits{DialTimeout: 2 * time.Second}}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if _, err := Dial(context.Background(), Config{Destination: "http://example.com"}); err != ErrDestination {
		t.Fatalf("http destination: %v", err)
	}
}

// On a bidirectional stream, playAudio (PCMU and 16 kHz linear) lands in
// the feed, clear empties it, and junk is ignored without ending the
// stream. A server that goes away ends it with connection-error.
func TestStreamPlayAudio(t *testing.T) {
	srv := newWSServer(t)
	sent := make(chan struct{})
	srv.reply = func(ctx context.Context, c *websocket.Conn) {
		defer close(sent)
		ulaw := base64.StdEncoding.EncodeToString(g711.EncodeUlawBuf(nil, tone(800)))
		lin := make([]byte, 320*2)
		for _, m := range []string{
			`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + ulaw + `"}}`,
			`not json`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=16000","payload":"` + base64.StdEncoding.EncodeToString(lin) + `"}}`,
		} {
			if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				return
			}
		}
	}
	s, err := Dial(context.Background(), Config{StreamID: "s-bi", Destination: srv.url(), Inbound: true, Bidirectional: true})
	if err != nil {
		t.Fatal(err)
	}
	<-sent
	for deadline := time.Now().Add(5 * time.Second); s.Feed().Buffered() < 960 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Feed().Buffered(); got != 960 {
		t.Fatalf("feed holds %d samples, want 800 + 160", got)
	}
	s.Feed().Clear()
	if s.Feed().Buffered() != 0 {
		t.Fatal("clear left audio")
	}
	srv.kill()
	res := waitDone(t, s)
	if res.Cause != CauseConnectionError {
		t.Errorf("server gone: %+v", res)
	}
}

// BenchmarkStreamPush is the packet-path cost of one stream per frame:
// encode the media message (μ-law, base64, JSON) and enqueue it. The loop
// takes each message off the queue as the writer would, so no frame is
// dropped and every iteration pays the full encode.
func BenchmarkStreamPush(b *testing.B) {
	s := &Stream{cfg: Config{Inbound: true}, q: make(chan *[]byte, 1)}
	frame := tone(160)
	b.ReportAllocs()
	for b.Loop() {
		s.Push(false, frame)
		bufPool.Put(<-s.q)
	}
	if s.drops.Load() != 0 {
		b.Fatalf("%d dropped", s.drops.Load())
	}
}

// BenchmarkStreamFanout is the whole cost of streams, writes included: a
// frame pushed to each of 10 streams connected to a local WebSocket server
// that reads and discards. An op is one frame to all 10 streams; the time
// runs until every message is written (Stop flushes the queues), so the
// writers' CPU is in it. Run with a fixed count, e.g. -benchtime=2000x.
func BenchmarkStreamFanout(b *testing.B) {
	const fanout = 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var ss []*Stream
	for i := range fanout {
		s, err := Dial(context.Background(), Config{StreamID: "s-" + string(rune('a'+i)), Destination: url, Inbound: true,
			Limits: Limits{Queue: b.N + 1}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		ss = append(ss, s)
	}
	frame := tone(160)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, s := range ss {
			s.Push(false, frame)
		}
	}
	var sent, dropped uint64
	for _, s := range ss {
		s.Stop()
		<-s.Done()
		r := s.Result()
		sent, dropped = sent+r.Sent, dropped+r.Dropped
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanout), "ns/frame/stream")
	b.ReportMetric(float64(dropped), "dropped")
	if sent+dropped != uint64(b.N*fanout) {
		b.Fatalf("%d sent + %d dropped, want %d", sent, dropped, b.N*fanout)
	}
}

// A wss:// destination works the same over TLS.
func TestStreamTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	s, err := Dial(context.Background(), Config{StreamID: "s-tls", Destination: "wss" + strings.TrimPrefix(srv.URL, "https"),
		Inbound: true, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	s.Push(false, tone(160))
	s.Stop()
	if res := waitDone(t, s); res.Cause != CauseClosed || res.Sent != 1 {
		t.Fatalf("%+v", res)
	}
}
