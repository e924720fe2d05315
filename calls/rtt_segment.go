package calls

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/media/wav"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
)

// utteranceTimeout bounds the recognition of one utterance (at most ~10 s
// of audio), waiting for a slot included.
const utteranceTimeout = 60 * time.Second

// liveRecognitions bounds the utterances recognised at once on this node,
// across every call: a recogniser process per utterance would otherwise
// grow with the number of live transcriptions. A transcription waiting for
// a slot keeps queueing audio (and drops what its queue cannot hold).
var liveRecognitions = make(chan struct{}, max(2, runtime.NumCPU()))

// rttMessage is a transcription message on a real-time transcription's
// destination, as Bandwidth documents it.
type rttMessage struct {
	EventType  string    `json:"eventType"`
	Track      string    `json:"track"`
	StartTime  string    `json:"startTime"`
	EndTime    string    `json:"endTime"`
	IsPartial  bool      `json:"isPartial"`
	Language   string    `json:"language"`
	Transcript string    `json:"transcript"`
	Items      []rttItem `json:"items"`
}

type rttItem struct {
	Content    string  `json:"content"`
	StartTime  string  `json:"startTime"`
	EndTime    string  `json:"endTime"`
	Confidence float64 `json:"confidence"`
	Stable     bool    `json:"stable"`
	Type       string  `json:"type"`
}

// transcribeUtterance runs the recogniser on one utterance of one track;
// a final result is stored as a segment, and every result goes to the
// destination.
func (c *Call) transcribeUtterance(a *activeTranscription, out bool, u speech.Utterance, partial bool) {
	track := "inbound"
	if out {
		track = "outbound"
	}
	text, conf, err := c.recognize(a.recognizer, u.PCM)
	switch {
	case err != nil:
		rttSegments.WithLabelValues("error").Inc()
		c.logf(slog.LevelWarn, "media", "transcription %s: %v", a.info.Name, err)
		return
	case text == "":
		rttSegments.WithLabelValues("empty").Inc()
		c.logf(slog.LevelDebug, "media", "transcription %s, %s: nothing recognised in %s", a.info.Name, track, time.Duration(len(u.PCM))*time.Second/8000)
		return
	}
	startMS, endMS := u.Start/8, (u.Start+int64(len(u.PCM)))/8
	if !partial {
		rttSegments.WithLabelValues("text").Inc()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.e.store.AddRealtimeSegment(ctx, store.RealtimeSegment{TranscriptionID: a.info.ID, Seq: a.seq, Track: track,
			Transcript: text, Confidence: conf, StartMS: startMS, EndMS: endMS})
		cancel()
		if err != nil {
			c.logf(slog.LevelWarn, "media", "transcription %s: %v", a.info.Name, err)
		}
		a.seq++
		c.logf(slog.LevelDebug, "media", "transcription %s, %s: %q", a.info.Name, track, text)
	}
	if a.dest == nil {
		return
	}
	at := func(ms int64) string {
		return a.start.Add(time.Duration(ms) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	m := rttMessage{EventType: "transcription", Track: track, StartTime: at(startMS), EndTime: at(endMS), IsPartial: partial,
		Language: "en-US", Transcript: text}
	for _, w := range strings.Fields(text) {
		m.Items = append(m.Items, rttItem{Content: w, StartTime: m.StartTime, EndTime: m.EndTime, Confidence: conf, Stable: !partial, Type: "PRONUNCIATION"})
	}
	b, err := json.Marshal(m)
	if err == nil && !a.dest.Send(b) {
		c.logf(slog.LevelWarn, "media", "transcription %s: the destination fell behind; a result was dropped", a.info.Name)
	}
}

// recognize writes pcm to a temporary WAV file for the recogniser (both
// engines read files) and returns its text and confidence.
func (c *Call) recognize(r speech.Recognizer, pcm []int16) (string, float64, error) {
	f, err := os.CreateTemp("", "wasmvoice-utterance-*.wav")
	if err != nil {
		return "", 0, fmt.Errorf("utterance file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(wav.Encode(8000, 1, pcm))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("utterance file: %w", err)
	}
	// Not the call's context: an utterance being recognised when the
	// caller hangs up is still transcribed.
	ctx, cancel := context.WithTimeout(context.Background(), utteranceTimeout)
	defer cancel()
	select {
	case liveRecognitions <- struct{}{}:
		defer func() { <-liveRecognitions }()
	case <-ctx.Done():
		return "", 0, fmt.Errorf("waiting for a recogniser: %w", ctx.Err())
	}
	res, err := r.Transcribe(ctx, f.Name())
	if err != nil {
		return "", 0, fmt.Errorf("recognising an utterance: %w", err)
	}
	var conf float64
	if len(res.Transcripts) > 0 {
		conf = res.Transcripts[0].Confidence
	}
	return strings.TrimSpace(res.Text()), conf, nil
}
