package calls

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

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

// recordingRecord is a recording of this call as the store keeps it.
func (c *Call) recordingRecord(id, path string, channels int, start time.Time) store.RecordingRecord {
	info := c.snapshotInfo()
	return store.RecordingRecord{
		ID: id, AccountID: c.app.AccountID, ApplicationID: c.app.ID, CallID: c.id, ParentCallID: info.ParentCallID,
		Direction: info.Direction, From: info.From, To: info.To, Channels: channels, FileFormat: "wav",
		Status: "partial", FilePath: path, StartTime: start,
	}
}

// journalRecording notes that a recording began, so a crash before it is
// indexed leaves it recoverable (Engine.Recover).
func (c *Call) journalRecording(id, path string, channels int, start time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.e.store.JournalRecording(ctx, c.recordingRecord(id, path, channels, start)); err != nil {
		c.logf(slog.LevelWarn, "media", "recording %s is not journaled (a crash would lose its index): %v", id, err)
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

// indexRecording stores a finished recording and returns what BXML reports.
func (c *Call) indexRecording(id string, start time.Time, res media.RecordResult) (bxml.Recording, error) {
	end := start.Add(res.Duration)
	rec := c.recordingRecord(id, res.Path, res.Channels, start)
	rec.Status, rec.SizeBytes, rec.DurationMS, rec.EndTime = "complete", res.Size, res.Duration.Milliseconds(), end
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
	c.journalRecording(id, path, 1, start)
	res, err := c.leg.Record(ctx, path, media.RecordOptions{
		Channels: 1, MaxDuration: time.Duration(r.MaxDuration * float64(time.Second)),
		TerminatingDigits: r.TerminatingDigits, SilenceTimeout: time.Duration(r.SilenceTimeout * float64(time.Second)),
	})
	if err != nil {
		c.forgetRecording(id)
		return bxml.Recording{}, fmt.Errorf("record: %w", err)
	}
	rec, err := c.indexRecording(id, start, res)
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
	id     string
	start  time.Time
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
	id := newRecordingID()
	path, err := c.recordingPath(id)
	if err != nil {
		return err
	}
	ch := 1
	if r.MultiChannel {
		ch = 2
	}
	start := time.Now().UTC()
	c.journalRecording(id, path, ch, start)
	rec, err := c.leg.StartRecording(path, media.RecordOptions{Channels: ch})
	if err != nil {
		c.forgetRecording(id)
		return fmt.Errorf("start recording: %w", err)
	}
	c.mu.Lock()
	c.recording = &activeRecording{id: id, start: start, rec: rec, target: r.RecordingAvailableTarget(),
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
		c.forgetRecording(ar.id)
		return fmt.Errorf("stop recording: %w", err)
	}
	rec, err := c.indexRecording(ar.id, ar.start, res)
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
