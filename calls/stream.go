package calls

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/streams"
)

// maxForkTracks is how many tracks a call may stream and transcribe at
// once, as Bandwidth allows (a "both" stream or transcription counts two).
const maxForkTracks = 4

// forkSet is a call's media streams and real-time transcriptions, by name.
type forkSet struct {
	mu             sync.Mutex
	streams        map[string]*activeStream
	transcriptions map[string]*activeTranscription
	closed         bool // the call ended: nothing new starts
}

// tracks counts the tracks in use (mu held).
func (f *forkSet) tracks() int {
	n := 0
	for _, s := range f.streams {
		n += len(s.info.Tracks)
	}
	for _, t := range f.transcriptions {
		n += len(t.info.Tracks)
	}
	return n
}

// activeStream is a <StartStream> from the verb to its end.
type activeStream struct {
	info   bxml.MediaStream
	target bxml.Target
	bidi   bool

	mu      sync.Mutex
	s       *streams.Stream // nil until connected
	stopped bool            // StopStream came (maybe before the connection)
	done    chan struct{}
}

func (a *activeStream) stop() {
	a.mu.Lock()
	a.stopped = true
	s := a.s
	a.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// StartStream starts streaming the call's audio to v.Destination. It
// returns at once: the connection, its callbacks and the stream run in a
// goroutine the engine's wait group owns, so a server that is slow to
// answer never holds up the call's next verbs.
func (c *Call) StartStream(_ context.Context, v *bxml.StartStream) error {
	id := "s-" + uuid.NewString()
	a := &activeStream{
		info:   bxml.MediaStream{ID: id, Name: v.Name, Destination: v.Destination, Tracks: bxml.StreamTracks(v.Tracks), Type: "WebSocket"},
		target: v.StreamEventTarget(), bidi: v.Mode == "bidirectional", done: make(chan struct{}),
	}
	if a.info.Name == "" {
		a.info.Name = id
	}
	if cause, msg := c.addStream(a); cause != "" {
		c.logf(slog.LevelWarn, "media", "stream %s rejected: %s", a.info.Name, msg)
		c.notify(a.target, &bxml.MediaStreamRejectedEvent{StopCause: bxml.StopCause{Cause: cause, ErrorMessage: msg}, MediaStream: &a.info})
		return nil
	}
	params := make(map[string]string, len(v.Params))
	for _, p := range v.Params {
		params[p.Name] = p.Value
	}
	cfg := streams.Config{AccountID: c.app.AccountID, CallID: c.id, StreamID: id, Name: a.info.Name,
		Destination: v.Destination, Username: v.DestinationUsername, Password: v.DestinationPassword,
		Inbound: v.Tracks != "outbound", Outbound: v.Tracks != "inbound", Bidirectional: a.bidi, Params: params,
		Logger: c.log}
	c.e.wg.Add(1)
	go c.runStream(a, cfg)
	return nil
}

// addStream registers a, or says why it may not start (a
// mediaStreamRejected cause and message).
func (c *Call) addStream(a *activeStream) (cause, msg string) {
	f := &c.forks
	return admit(f, &f.streams, "stream", a.info.Name, len(a.info.Tracks), a, func() (string, string) {
		if !a.bidi {
			return "", ""
		}
		for _, s := range f.streams {
			if s.bidi {
				return streams.CauseError, fmt.Sprintf("stream %q already plays audio to the call: one bidirectional stream at a time", s.info.Name)
			}
		}
		return "", ""
	})
}

func (c *Call) removeStream(a *activeStream) {
	forget(&c.forks, &c.forks.streams, a.info.Name, a)
	close(a.done)
}

// admit registers a in *m under name unless the call has ended, the name
// is taken, the call's track limit would be passed, or extra (called with
// f.mu held) objects; otherwise it returns the rejection's cause and
// message.
func admit[T any](f *forkSet, m *map[string]*T, kind, name string, tracks int, a *T, extra func() (string, string)) (cause, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return streams.CauseError, "the call has ended"
	case (*m)[name] != nil:
		return "duplicate", fmt.Sprintf("a %s named %q is already running on this call", kind, name)
	case f.tracks()+tracks > maxForkTracks:
		return "track-limit", fmt.Sprintf("a call streams and transcribes at most %d tracks at once", maxForkTracks)
	}
	if extra != nil {
		if cause, msg := extra(); cause != "" {
			return cause, msg
		}
	}
	if *m == nil {
		*m = map[string]*T{}
	}
	(*m)[name] = a
	return "", ""
}

// forget removes a from *m if it is still there under name.
func forget[T any](f *forkSet, m *map[string]*T, name string, a *T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if (*m)[name] == a {
		delete(*m, name)
	}
}

// named returns the entries of *m called name, or all of them when name is
// empty.
func named[T any](f *forkSet, m *map[string]*T, name string) []*T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*T
	for n, a := range *m {
		if name == "" || n == name {
			out = append(out, a)
		}
	}
	return out
}

// runStream connects, taps the call's leg into the stream until it ends
// (StopStream, hangup, or the server went away) and sends the callbacks.
func (c *Call) runStream(a *activeStream, cfg streams.Config) {
	defer c.e.wg.Done()
	defer c.removeStream(a)
	s, err := streams.Dial(c.ctx, cfg)
	if err != nil {
		c.logf(slog.LevelWarn, "media", "stream %s rejected: %v", a.info.Name, err)
		c.notify(a.target, &bxml.MediaStreamRejectedEvent{StopCause: bxml.StopCause{Cause: streams.CauseConnectionError, ErrorMessage: err.Error()}, MediaStream: &a.info})
		return
	}
	a.mu.Lock()
	a.s = s
	stopped := a.stopped
	a.mu.Unlock()
	a.info.StartTime = bxml.At(time.Now())
	detach, ok := c.leg.Listen(s.Push)
	if !ok {
		s.Stop()
		<-s.Done()
		c.notify(a.target, &bxml.MediaStreamRejectedEvent{StopCause: bxml.StopCause{Cause: streams.CauseError, ErrorMessage: "the server cannot decode the call's codec: its audio cannot be streamed"}, MediaStream: &a.info})
		return
	}
	if a.bidi && !c.leg.SetFeed(s.Feed()) {
		c.logf(slog.LevelWarn, "media", "stream %s: another source already plays audio to the call; its audio back is not played", a.info.Name)
	}
	c.logf(slog.LevelInfo, "media", "stream %s started to %s", a.info.Name, a.info.Destination)
	c.notify(a.target, &bxml.MediaStreamStartedEvent{MediaStream: &a.info})
	if stopped {
		s.Stop()
	}
	select {
	case <-s.Done():
	case <-c.ctx.Done():
		s.Stop()
		<-s.Done()
	}
	detach()
	if a.bidi {
		c.leg.RemoveFeed(s.Feed())
	}
	res := s.Result()
	level := slog.LevelInfo
	if res.Dropped > 0 || res.Cause != streams.CauseClosed {
		level = slog.LevelWarn
	}
	c.logf(level, "media", "stream %s stopped: %s %s (%d messages sent, %d dropped on a full queue, %s)",
		a.info.Name, res.Cause, res.ErrorMessage, res.Sent, res.Dropped, res.Duration.Round(time.Millisecond))
	info := a.info
	info.Duration = isoDuration(res.Duration.Round(time.Millisecond))
	c.notify(a.target, &bxml.MediaStreamStoppedEvent{StopCause: bxml.StopCause{Cause: res.Cause, ErrorMessage: res.ErrorMessage}, MediaStream: &info})
}

// StopStream stops the stream named v.Name (every stream when it is
// empty); with wait it returns once the stream has ended.
func (c *Call) StopStream(ctx context.Context, v *bxml.StopStream) error {
	stop := named(&c.forks, &c.forks.streams, v.Name)
	if len(stop) == 0 {
		c.logf(slog.LevelInfo, "media", "StopStream: no stream named %q", v.Name)
		return nil
	}
	for _, a := range stop {
		a.stop()
	}
	if v.Wait {
		for _, a := range stop {
			select {
			case <-a.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// stopForks ends every stream and real-time transcription when the call
// ends, and lets no new one start; their goroutines send the callbacks.
func (c *Call) stopForks() {
	c.forks.mu.Lock()
	c.forks.closed = true
	c.forks.mu.Unlock()
	for _, a := range named(&c.forks, &c.forks.streams, "") {
		a.stop()
	}
	for _, a := range named(&c.forks, &c.forks.transcriptions, "") {
		a.stop()
	}
}
