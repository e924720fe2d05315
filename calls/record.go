package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
)

// recordingPath is where a new recording of this call goes.
func (c *Call) recordingPath(id, format string) (string, error) {
	dir := filepath.Join(c.e.dataDir, "recordings", c.app.AccountID, c.id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("recording dir: %w", err)
	}
	return filepath.Join(dir, id+"."+format), nil
}

func newRecordingID() string { return "r-" + uuid.NewString() }

// keepRecordingTimeout bounds the upload of one finished recording.
const keepRecordingTimeout = 5 * time.Minute

// keepRecording hands a finished recording's file to the recording storage
// and returns the reference to index. When the upload fails the local file
// is indexed instead: the recording is served by this node, never lost.
func (e *Engine) keepRecording(ctx context.Context, accountID, callID, id, path, format string) string {
	ctx, cancel := context.WithTimeout(ctx, keepRecordingTimeout)
	defer cancel()
	ref, err := e.kept.Keep(ctx, storage.RecordingKey(accountID, callID, id+"."+format), path, storage.ContentType(format))
	if err != nil {
		e.log.Warn("recording stays on this node", "accountId", accountID, "callId", callID, "recordingId", id, "error", err)
		return path
	}
	return ref
}

func (c *Call) mediaURL(recID string) string {
	return c.e.baseURL + "/api/v2/accounts/" + c.app.AccountID + "/calls/" + c.id + "/recordings/" + recID + "/media"
}

// recordingMeta is a recording as a verb started it: the media records as
// WAV at path; an mp3 recording is encoded once it ends.
type recordingMeta struct {
	id, path string
	channels int
	format   string // what the verb asked for: "wav" or "mp3"
	name     string // StartRecording recordingName
	start    time.Time
}

// newRecording makes the metadata and the directory of a new recording.
func (c *Call) newRecording(channels int, format, name string) (recordingMeta, error) {
	m := recordingMeta{id: newRecordingID(), channels: channels, format: format, name: name}
	if m.format == "" {
		m.format = "wav"
	}
	var err error
	m.path, err = c.recordingPath(m.id, "wav")
	return m, err
}

// recordingRecord is a recording of this call as the store keeps it.
func (c *Call) recordingRecord(m recordingMeta) store.RecordingRecord {
	info := c.snapshotInfo()
	return store.RecordingRecord{
		ID: m.id, AccountID: c.app.AccountID, ApplicationID: c.app.ID, CallID: c.id, ParentCallID: info.ParentCallID,
		Direction: info.Direction, From: info.From, To: info.To, Channels: m.channels, FileFormat: "wav",
		Status: store.RecordingPartial, FilePath: m.path, StartTime: m.start, Name: m.name,
		TransferCallerID: info.TransferCallerID, TransferTo: info.TransferTo,
	}
}

// journalRecording notes that a recording began, so a crash before it is
// indexed leaves it recoverable (Engine.Recover). The journal says wav
// whatever the verb asked for: a crash leaves the WAV, never an MP3.
func (c *Call) journalRecording(m recordingMeta) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.JournalRecording(ctx, c.recordingRecord(m)); err != nil {
		c.logf(slog.LevelWarn, "media", "recording %s is not journaled (a crash would lose its index): %v", m.id, err)
	}
}

// forgetRecording drops the journal row of a recording that failed.
func (c *Call) forgetRecording(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.ForgetLiveRecording(ctx, id); err != nil {
		c.logf(slog.LevelWarn, "media", "%v", err)
	}
}

// encodeMP3 turns a finished WAV recording into the MP3 its verb asked
// for. When that fails the WAV is what the metadata reports: a recording
// is never lost to its encoding.
func (c *Call) encodeMP3(m recordingMeta, res media.RecordResult) (media.RecordResult, string) {
	mp3Path := strings.TrimSuffix(res.Path, ".wav") + ".mp3"
	ctx, cancel := context.WithTimeout(context.Background(), mp3Timeout)
	defer cancel()
	t0 := time.Now()
	size, err := c.e.mp3.Encode(ctx, res.Path, mp3Path, res.Channels)
	if err != nil {
		c.logf(slog.LevelWarn, "media", "recording %s is kept as wav: %v", m.id, err)
		return res, "wav"
	}
	c.logf(slog.LevelInfo, "media", "recording %s encoded to mp3 in %s", m.id, time.Since(t0).Round(time.Millisecond))
	res.Path, res.Size = mp3Path, size
	return res, "mp3"
}

func (c *Call) removeFile(path string) {
	if err := os.Remove(path); err != nil {
		c.logf(slog.LevelWarn, "media", "removing %s: %v", filepath.Base(path), err)
	}
}

// mp3Timeout bounds an encode, waiting for a slot included; the encoder
// bounds the process itself by the audio's length.
const mp3Timeout = 10 * time.Minute

// indexRecording stores a finished recording and returns what BXML reports.
func (c *Call) indexRecording(m recordingMeta, res media.RecordResult) (bxml.Recording, error) {
	format, wavPath := "wav", res.Path
	if m.format == "mp3" {
		res, format = c.encodeMP3(m, res)
	}
	end := m.start.Add(res.Duration)
	m.path = c.e.keepRecording(context.Background(), c.app.AccountID, c.id, m.id, res.Path, format)
	rec := c.recordingRecord(m)
	rec.Channels, rec.FileFormat = res.Channels, format
	rec.Status, rec.SizeBytes, rec.DurationMS, rec.EndTime = store.RecordingComplete, res.Size, res.Duration.Milliseconds(), end
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.CreateRecording(ctx, rec); err != nil {
		if m.path != res.Path {
			c.e.kept.Remove(ctx, m.path) // the upload nothing names
		}
		if format == "mp3" {
			// The journal still names the WAV, which the next start indexes.
			c.removeFile(res.Path)
		}
		return bxml.Recording{}, err
	}
	// Only now: until the upload or the MP3 is indexed, the local file and
	// the journal's WAV are what a crash would recover.
	if format == "mp3" {
		c.removeFile(wavPath)
	}
	c.e.kept.Discard(res.Path, m.path)
	c.logf(slog.LevelInfo, "media", "recording %s: %s, %d bytes", m.id, res.Duration, res.Size)
	return bxml.Recording{ID: m.id, MediaURL: c.mediaURL(m.id), StartTime: m.start, EndTime: end, Duration: res.Duration,
		FileFormat: format, Channels: res.Channels}, nil
}

func (c *Call) recordingAvailable(t bxml.Target, r bxml.Recording) {
	c.notify(t, &bxml.RecordingAvailableEvent{
		RecordingID: r.ID, MediaURL: r.MediaURL, EndTime: bxml.At(r.EndTime), Duration: isoDuration(r.Duration),
		FileFormat: r.FileFormat, Channels: r.Channels, Status: "complete",
	})
}

// isoDuration formats d as the ISO 8601 duration the callbacks use ("PT2.5S").
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

func (c *Call) Record(ctx context.Context, r *bxml.Record) (bxml.Recording, error) {
	m, err := c.newRecording(1, r.FileFormat, "")
	if err != nil {
		return bxml.Recording{}, err
	}
	m.start = time.Now().UTC()
	c.journalRecording(m)
	res, err := c.leg.Record(ctx, m.path, media.RecordOptions{
		Channels: 1, MaxDuration: time.Duration(r.MaxDuration * float64(time.Second)),
		TerminatingDigits: r.TerminatingDigits, SilenceTimeout: time.Duration(r.SilenceTimeout * float64(time.Second)),
	})
	if err != nil {
		c.forgetRecording(m.id)
		return bxml.Recording{}, fmt.Errorf("record: %w", err)
	}
	rec, err := c.indexRecording(m, res)
	if err != nil {
		return bxml.Recording{}, err
	}
	c.recordingAvailable(r.RecordingAvailableTarget(), rec)
	if r.Transcribe {
		c.transcribeRecording(rec.ID, r.TranscriptionAvailableTarget())
	}
	return rec, nil
}

// activeRecording is a StartRecording in progress.
type activeRecording struct {
	meta   recordingMeta
	rec    *media.Recording
	target bxml.Target
	// transcribe: transcription to transcribeTarget once it is stored.
	transcribe       bool
	transcribeTarget bxml.Target
}

func (c *Call) StartRecording(ctx context.Context, r *bxml.StartRecording) error {
	c.mu.Lock()
	busy := c.recording != nil
	c.mu.Unlock()
	if busy {
		return fmt.Errorf("StartRecording: a recording is already running")
	}
	ch := 1
	if r.MultiChannel {
		ch = 2
	}
	m, err := c.newRecording(ch, r.FileFormat, r.RecordingName)
	if err != nil {
		return err
	}
	m.start = time.Now().UTC()
	c.journalRecording(m)
	rec, err := c.leg.StartRecording(m.path, media.RecordOptions{Channels: ch})
	if err != nil {
		c.forgetRecording(m.id)
		return fmt.Errorf("start recording: %w", err)
	}
	c.mu.Lock()
	c.recording = &activeRecording{meta: m, rec: rec, target: r.RecordingAvailableTarget(),
		transcribe: r.Transcribe, transcribeTarget: r.TranscriptionAvailableTarget()}
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
		c.forgetRecording(ar.meta.id)
		return fmt.Errorf("stop recording: %w", err)
	}
	rec, err := c.indexRecording(ar.meta, res)
	if err != nil {
		return err
	}
	c.recordingAvailable(ar.target, rec)
	if ar.transcribe {
		c.transcribeRecording(rec.ID, ar.transcribeTarget)
	}
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

// ErrNoRecording is returned by SetRecordingPaused for a call that has no
// StartRecording running.
var ErrNoRecording = errors.New("the call has no recording in progress")

// SetRecordingPaused pauses (or resumes) a live call's StartRecording from
// the Voice API (updateCallRecordingState), as PauseRecording and
// ResumeRecording do from BXML.
func (e *Engine) SetRecordingPaused(accountID, id string, paused bool) error {
	c, ok := e.Call(accountID, id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, ErrNotLive)
	}
	c.mu.Lock()
	ar := c.recording
	if ar != nil {
		if paused {
			ar.rec.Pause()
		} else {
			ar.rec.Resume()
		}
	}
	c.mu.Unlock()
	if ar == nil {
		return fmt.Errorf("call %s: %w", id, ErrNoRecording)
	}
	c.logf(slog.LevelInfo, "api", "recording %s paused: %v", ar.meta.id, paused)
	return nil
}
