package calls

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/streams"
)

var (
	rttSegments = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmvoice_realtime_transcription_segments_total",
		Help: "Utterances of real-time transcriptions by outcome: text, empty (nothing recognised), error.",
	}, []string{"outcome"})
	rttDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "wasmvoice_realtime_transcription_frames_dropped_total",
		Help: "20 ms frames a real-time transcription dropped because the recogniser fell behind.",
	})
)

// rttQueue is how much audio (20 ms frames, both tracks) a real-time
// transcription holds while the recogniser works on an utterance: 20 s.
const rttQueue = 1000

// rttFrame is one frame of one track, copied off the packet path.
type rttFrame struct {
	out bool
	n   int
	pcm [160]int16
}

// activeTranscription is a <StartTranscription> from the verb to its end.
type activeTranscription struct {
	info       bxml.RealTimeTranscription
	target     bxml.Target
	inbound    bool
	outbound   bool
	params     map[string]string
	frames     chan rttFrame
	stopOnce   sync.Once
	stopCh     chan struct{}
	done       chan struct{}
	dropped    atomic.Uint64
	seq        int
	start      time.Time
	dest       *streams.Stream // nil without a destination
	recognizer speech.Recognizer
}

func (a *activeTranscription) stop() { a.stopOnce.Do(func() { close(a.stopCh) }) }

// push is the leg's listener: it copies the frame into the queue and never
// waits (a full queue drops the frame and counts it).
func (a *activeTranscription) push(out bool, pcm []int16) {
	if (out && !a.outbound) || (!out && !a.inbound) {
		return
	}
	f := rttFrame{out: out}
	f.n = copy(f.pcm[:], pcm)
	select {
	case a.frames <- f:
	default:
		a.dropped.Add(1)
		rttDropped.Inc()
	}
}

// StartTranscription starts transcribing the call's tracks as it goes:
// each utterance (speech.Segmenter) is transcribed by the node's
// recogniser when it ends, stored (the real-time transcription routes read
// it) and sent to the destination WebSocket as a transcription message.
// It returns at once; the work runs in a goroutine the engine's wait group
// owns.
func (c *Call) StartTranscription(_ context.Context, v *bxml.StartTranscription) error {
	id := "t-" + uuid.NewString()
	a := &activeTranscription{
		info: bxml.RealTimeTranscription{ID: id, Name: v.Name, Tracks: bxml.StreamTracks(v.Tracks), Destination: v.Destination,
			Stabilized: v.Stabilized, URL: c.snapshotInfo().CallURL + "/transcriptions/" + id},
		target: v.TranscriptionEventTarget(), inbound: v.Tracks != "outbound", outbound: v.Tracks != "inbound",
		params: map[string]string{}, frames: make(chan rttFrame, rttQueue), stopCh: make(chan struct{}), done: make(chan struct{}),
		recognizer: c.e.stt,
	}
	if a.info.Name == "" {
		a.info.Name = id
	}
	for _, p := range v.Params {
		a.params[p.Name] = p.Value
	}
	if cause, msg := c.addTranscription(a); cause != "" {
		c.logf(slog.LevelWarn, "media", "transcription %s rejected: %s", a.info.Name, msg)
		c.notify(a.target, &bxml.RealTimeTranscriptionRejectedEvent{StopCause: bxml.StopCause{Cause: cause, ErrorMessage: msg}, RealTimeTranscription: &a.info})
		return nil
	}
	c.e.wg.Add(1)
	go c.runTranscription(a)
	return nil
}

// addTranscription registers a, or says why it may not start.
func (c *Call) addTranscription(a *activeTranscription) (cause, msg string) {
	if a.recognizer == nil {
		return streams.CauseError, ErrNoRecognizer.Error()
	}
	return admit(&c.forks, &c.forks.transcriptions, "transcription", a.info.Name, len(a.info.Tracks), a, nil)
}

func (c *Call) removeTranscription(a *activeTranscription) {
	forget(&c.forks, &c.forks.transcriptions, a.info.Name, a)
	close(a.done)
}

// rttControl is the start or stop message of a transcription's destination.
type rttControl struct {
	EventType    string            `json:"eventType"`
	Metadata     rttMetadata       `json:"metadata"`
	CustomParams map[string]string `json:"customParams,omitempty"`
}

type rttMetadata struct {
	AccountID  string         `json:"accountId"`
	CallID     string         `json:"callId"`
	ID         string         `json:"realtimeTranscriptionId"`
	Name       string         `json:"transcriptionName"`
	Tracks     []rttTrackName `json:"tracks"`
	Stabilized bool           `json:"stabilized"`
}

type rttTrackName struct {
	Name string `json:"name"`
}

func (c *Call) rttControl(a *activeTranscription, eventType string) rttControl {
	m := rttMetadata{AccountID: c.app.AccountID, CallID: c.id, ID: a.info.ID, Name: a.info.Name, Stabilized: a.info.Stabilized}
	for _, t := range a.info.Tracks {
		m.Tracks = append(m.Tracks, rttTrackName{t})
	}
	ctl := rttControl{EventType: eventType, Metadata: m}
	if eventType == "start" && len(a.params) > 0 {
		ctl.CustomParams = a.params
	}
	return ctl
}

// runTranscription is a transcription's life: the record, the optional
// destination, the tap on the leg, utterance after utterance until
// StopTranscription or hangup, then the callbacks.
func (c *Call) runTranscription(a *activeTranscription) {
	defer c.e.wg.Done()
	defer c.removeTranscription(a)
	a.start = time.Now().UTC()
	a.info.StartTime = bxml.At(a.start)
	if a.info.Destination != "" {
		s, err := streams.Dial(c.ctx, streams.Config{AccountID: c.app.AccountID, CallID: c.id, StreamID: a.info.ID, Name: a.info.Name,
			Destination: a.info.Destination, StartMessage: c.rttControl(a, "start"), StopMessage: c.rttControl(a, "stop"), Logger: c.log})
		if err != nil {
			c.logf(slog.LevelWarn, "media", "transcription %s rejected: %v", a.info.Name, err)
			c.notify(a.target, &bxml.RealTimeTranscriptionRejectedEvent{StopCause: bxml.StopCause{Cause: streams.CauseConnectionError, ErrorMessage: err.Error()}, RealTimeTranscription: &a.info})
			return
		}
		a.dest = s
		defer func() { s.Stop(); <-s.Done() }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.e.store.CreateRealtimeTranscription(ctx, store.RealtimeTranscription{ID: a.info.ID, AccountID: c.app.AccountID, CallID: c.id,
		Name: a.info.Name, Tracks: strings.Join(a.info.Tracks, ","), StartTime: a.start})
	cancel()
	if err != nil {
		c.logf(slog.LevelError, "media", "transcription %s rejected: %v", a.info.Name, err)
		c.notify(a.target, &bxml.RealTimeTranscriptionRejectedEvent{StopCause: bxml.StopCause{Cause: streams.CauseError, ErrorMessage: "the transcription could not be stored"}, RealTimeTranscription: &a.info})
		return
	}
	detach, ok := c.leg.Listen(a.push)
	if !ok {
		c.finishTranscription(a, streams.CauseError, "the server cannot decode the call's codec: its audio cannot be transcribed")
		return
	}
	c.logf(slog.LevelInfo, "media", "transcription %s started (%s)", a.info.Name, strings.Join(a.info.Tracks, ", "))
	c.notify(a.target, &bxml.RealTimeTranscriptionStartedEvent{RealTimeTranscription: &a.info})
	c.transcribeLive(a)
	detach()
	if a.dest != nil {
		// The destination has every message before the callbacks say the
		// transcription is over.
		a.dest.Stop()
		<-a.dest.Done()
	}
	c.finishTranscription(a, streams.CauseClosed, "")
}

// transcribeLive feeds the queued frames to a segmenter per track and
// transcribes each utterance as it ends, until the transcription stops;
// what is in progress then is transcribed too. With stabilized="false" an
// utterance in progress is also transcribed every 2 s and sent as a
// partial result.
func (c *Call) transcribeLive(a *activeTranscription) {
	var segs [2]speech.Segmenter
	partialEvery := 0
	if !a.info.Stabilized && a.dest != nil {
		partialEvery = 100 // frames
	}
	frames := [2]int{}
	for {
		select {
		case f := <-a.frames:
			i := c.feedLive(a, &segs, f)
			frames[i]++
			if partialEvery > 0 && frames[i]%partialEvery == 0 {
				if u, ok := segs[i].InProgress(); ok {
					c.transcribeUtterance(a, i == 1, u, true)
				}
			}
		case <-a.stopCh:
			c.flushLive(a, &segs)
			return
		case <-c.ctx.Done():
			c.flushLive(a, &segs)
			return
		}
	}
}

// feedLive gives f to its track's segmenter and transcribes the utterance
// it completes; it returns the track's index.
func (c *Call) feedLive(a *activeTranscription, segs *[2]speech.Segmenter, f rttFrame) int {
	i := 0
	if f.out {
		i = 1
	}
	if u, ok := segs[i].Feed(f.pcm[:f.n]); ok {
		c.transcribeUtterance(a, f.out, u, false)
	}
	return i
}

// flushLive transcribes what was queued and in progress when the
// transcription stopped.
func (c *Call) flushLive(a *activeTranscription, segs *[2]speech.Segmenter) {
	for {
		select {
		case f := <-a.frames:
			c.feedLive(a, segs, f)
			continue
		default:
		}
		break
	}
	for i := range segs {
		if u, ok := segs[i].Flush(); ok {
			c.transcribeUtterance(a, i == 1, u, false)
		}
	}
}

// finishTranscription marks the transcription available and sends the
// stopped and available callbacks.
func (c *Call) finishTranscription(a *activeTranscription, cause, msg string) {
	end := time.Now().UTC()
	status := store.RealtimeAvailable
	if cause != streams.CauseClosed {
		status = store.RealtimeFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.e.store.FinishRealtimeTranscription(ctx, a.info.ID, status, end)
	cancel()
	if err != nil {
		c.logf(slog.LevelWarn, "media", "transcription %s: %v", a.info.Name, err)
	}
	if n := a.dropped.Load(); n > 0 {
		c.logf(slog.LevelWarn, "media", "transcription %s dropped %d frames: the recogniser fell behind", a.info.Name, n)
	}
	c.logf(slog.LevelInfo, "media", "transcription %s stopped: %s %s (%d segments)", a.info.Name, cause, msg, a.seq)
	stopped := a.info
	stopped.Duration = isoDuration(end.Sub(a.start).Round(time.Millisecond))
	c.notify(a.target, &bxml.RealTimeTranscriptionStoppedEvent{StopCause: bxml.StopCause{Cause: cause, ErrorMessage: msg}, RealTimeTranscription: &stopped})
	if err == nil {
		avail := a.info
		avail.Status, avail.CompletedTime = "available", bxml.At(end)
		if status == store.RealtimeFailed {
			avail.Status = "failed"
		}
		c.notify(a.target, &bxml.RealTimeTranscriptionAvailableEvent{RealTimeTranscription: &avail})
	}
}

// StopTranscription stops the transcription named v.Name (every one when
// it is empty); its last utterance is still transcribed.
func (c *Call) StopTranscription(_ context.Context, v *bxml.StopTranscription) error {
	stop := named(&c.forks, &c.forks.transcriptions, v.Name)
	if len(stop) == 0 {
		c.logf(slog.LevelInfo, "media", "StopTranscription: no transcription named %q", v.Name)
	}
	for _, a := range stop {
		a.stop()
	}
	return nil
}
