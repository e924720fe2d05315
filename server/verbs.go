package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

// The Call implements the verbs of the BXML interpreter.
var _ bxml.Call = (*Call)(nil)

// Answer sends 200 OK with the media answer the first time a verb needs media.
func (c *Call) Answer(ctx context.Context) error {
	c.mu.Lock()
	done := c.answered
	c.mu.Unlock()
	if done {
		return nil
	}
	if c.sipIn != nil {
		if err := c.sipIn.Answer(ctx, c.localSDP); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
	}
	c.markAnswered()
	return nil
}

func (c *Call) markAnswered() {
	c.mu.Lock()
	c.answered = true
	c.state = stateAnswered
	c.info.AnswerTime = time.Now().UTC()
	c.mu.Unlock()
}

func (c *Call) Speak(ctx context.Context, s *bxml.SpeakSentence) error {
	text := s.PlainText()
	if media.LooksLikeSSML(s.SSML) {
		text = s.SSML
	}
	return ignoreInterrupt(c.leg.Speak(ctx, text, media.Voice{Name: s.Voice, Gender: s.Gender, Locale: s.Locale}, media.PlayOptions{}))
}

func (c *Call) Play(ctx context.Context, p *bxml.PlayAudio) error {
	src := p.URL
	if p.Username != "" {
		if u, err := url.Parse(p.URL); err == nil {
			u.User = url.UserPassword(p.Username, p.Password)
			src = u.String()
		}
	}
	return ignoreInterrupt(c.leg.Play(ctx, src, media.PlayOptions{}))
}

func ignoreInterrupt(err error) error {
	if err == media.ErrInterrupted {
		return nil
	}
	return err
}

func (c *Call) Ring(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	answered := c.answered
	c.mu.Unlock()
	if !answered && c.sipIn != nil {
		// Ringback before answer is early media: 183 with our SDP.
		if err := c.sipIn.Progress(c.localSDP); err != nil {
			return fmt.Errorf("ring: %w", err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := c.leg.PlayRingback(rctx, media.RingbackUS)
	if rctx.Err() != nil && ctx.Err() == nil {
		return nil // the ring ran its duration
	}
	return err
}

func (c *Call) SendDTMF(ctx context.Context, digits string, toneDuration, toneInterval time.Duration) error {
	return c.leg.SendDTMF(ctx, digits, toneDuration, toneInterval)
}

// startDTMF queues every digit the caller sends for ReadDigit; a full
// queue drops the oldest digit rather than blocking the media side.
func (c *Call) startDTMF() {
	events, cancel := c.leg.SubscribeDTMF()
	c.stopDTMF = cancel
	go func() {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return
				}
				c.logf(slog.LevelDebug, "media", "DTMF %c", ev.Digit)
				for {
					select {
					case c.digits <- ev.Digit:
					default:
						select {
						case <-c.digits:
						default:
						}
						continue
					}
					break
				}
			case <-c.ctx.Done():
				return
			}
		}
	}()
}

func (c *Call) ReadDigit(ctx context.Context) (byte, error) {
	select {
	case d := <-c.digits:
		return byte(d), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (c *Call) DiscardDigits() {
	for {
		select {
		case <-c.digits:
		default:
			return
		}
	}
}

func (c *Call) StartGather(ctx context.Context, g *bxml.StartGather) error {
	c.StopGather(ctx)
	events, unsubscribe := c.leg.SubscribeDTMF()
	gctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	c.gatherStop = cancel
	c.mu.Unlock()
	target := g.DtmfTarget()
	go func() {
		defer unsubscribe()
		for {
			select {
			case ev := <-events:
				c.notify(target, &bxml.DtmfEvent{Digit: string(ev.Digit)})
			case <-gctx.Done():
				return
			}
		}
	}()
	return nil
}

func (c *Call) StopGather(context.Context) error {
	c.mu.Lock()
	stop := c.gatherStop
	c.gatherStop = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	return nil
}

func (c *Call) SetTag(tag string) {
	c.mu.Lock()
	c.info.Tag = tag
	c.mu.Unlock()
}

// recordingPath is where a new recording of this call goes.
func (c *Call) recordingPath(id string) (string, error) {
	dir := filepath.Join(c.e.dataDir, "recordings", c.app.AccountID, c.id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("recording dir: %w", err)
	}
	return filepath.Join(dir, id+".wav"), nil
}

func newRecordingID() string { return "r-" + uuid.NewString() }

func (c *Call) mediaURL(recID string) string {
	return c.e.baseURL + "/api/v2/accounts/" + c.app.AccountID + "/calls/" + c.id + "/recordings/" + recID + "/media"
}

// indexRecording stores a finished recording and returns what BXML reports.
func (c *Call) indexRecording(id string, start time.Time, res media.RecordResult) (bxml.Recording, error) {
	end := start.Add(res.Duration)
	info := c.snapshotInfo()
	rec := store.RecordingRecord{
		ID: id, AccountID: c.app.AccountID, ApplicationID: c.app.ID, CallID: c.id, ParentCallID: info.ParentCallID,
		Direction: info.Direction, From: info.From, To: info.To, Channels: res.Channels, FileFormat: "wav",
		Status: "complete", FilePath: res.Path, SizeBytes: res.Size, DurationMS: res.Duration.Milliseconds(),
		StartTime: start, EndTime: end,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.CreateRecording(ctx, rec); err != nil {
		return bxml.Recording{}, err
	}
	c.logf(slog.LevelInfo, "media", "recording %s: %s, %d bytes", id, res.Duration, res.Size)
	return bxml.Recording{ID: id, MediaURL: c.mediaURL(id), StartTime: start, EndTime: end, Duration: res.Duration,
		FileFormat: "wav", Channels: res.Channels}, nil
}

func (c *Call) recordingAvailable(t bxml.Target, r bxml.Recording) {
	c.notify(t, &bxml.RecordingAvailableEvent{
		RecordingID: r.ID, MediaURL: r.MediaURL, EndTime: bxml.At(r.EndTime), Duration: isoDuration(r.Duration),
		FileFormat: r.FileFormat, Channels: strconv.Itoa(r.Channels), Status: "complete",
	})
}

// isoDuration formats d as the ISO 8601 duration the callbacks use ("PT2.5S").
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

func (c *Call) Record(ctx context.Context, r *bxml.Record) (bxml.Recording, error) {
	id := newRecordingID()
	path, err := c.recordingPath(id)
	if err != nil {
		return bxml.Recording{}, err
	}
	if r.FileFormat == "mp3" {
		c.logf(slog.LevelWarn, "media", "fileFormat mp3 is recorded as wav")
	}
	start := time.Now().UTC()
	res, err := c.leg.Record(ctx, path, media.RecordOptions{
		Channels: 1, MaxDuration: time.Duration(r.MaxDuration * float64(time.Second)),
		TerminatingDigits: r.TerminatingDigits, SilenceTimeout: time.Duration(r.SilenceTimeout * float64(time.Second)),
	})
	if err != nil {
		return bxml.Recording{}, fmt.Errorf("record: %w", err)
	}
	rec, err := c.indexRecording(id, start, res)
	if err != nil {
		return bxml.Recording{}, err
	}
	c.recordingAvailable(r.RecordingAvailableTarget(), rec)
	return rec, nil
}

// activeRecording is a StartRecording in progress.
type activeRecording struct {
	id     string
	start  time.Time
	rec    *media.Recording
	target bxml.Target
}

func (c *Call) StartRecording(ctx context.Context, r *bxml.StartRecording) error {
	c.mu.Lock()
	busy := c.recording != nil
	c.mu.Unlock()
	if busy {
		return fmt.Errorf("StartRecording: a recording is already running")
	}
	id := newRecordingID()
	path, err := c.recordingPath(id)
	if err != nil {
		return err
	}
	ch := 1
	if r.MultiChannel {
		ch = 2
	}
	rec, err := c.leg.StartRecording(path, media.RecordOptions{Channels: ch})
	if err != nil {
		return fmt.Errorf("start recording: %w", err)
	}
	c.mu.Lock()
	c.recording = &activeRecording{id: id, start: time.Now().UTC(), rec: rec, target: r.RecordingAvailableTarget()}
	c.mu.Unlock()
	return nil
}

func (c *Call) StopRecording(context.Context) error {
	c.mu.Lock()
	ar := c.recording
	c.recording = nil
	c.mu.Unlock()
	if ar == nil {
		return nil
	}
	res, err := ar.rec.Stop()
	if err != nil {
		return fmt.Errorf("stop recording: %w", err)
	}
	rec, err := c.indexRecording(ar.id, ar.start, res)
	if err != nil {
		return err
	}
	c.recordingAvailable(ar.target, rec)
	return nil
}

func (c *Call) PauseRecording(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording != nil {
		c.recording.rec.Pause()
	}
	return nil
}

func (c *Call) ResumeRecording(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording != nil {
		c.recording.rec.Resume()
	}
	return nil
}

// stopBackground ends what verbs left running: StartGather, StartRecording
// (kept and indexed), the DTMF queue.
func (c *Call) stopBackground() {
	c.StopGather(context.Background())
	if err := c.StopRecording(context.Background()); err != nil {
		c.logf(slog.LevelWarn, "media", "%v", err)
	}
	if c.stopDTMF != nil {
		c.stopDTMF()
	}
}
