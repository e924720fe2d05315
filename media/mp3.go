package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ErrMP3Unavailable is returned by MP3Encoder.Encode when its binary (lame)
// is not installed.
var ErrMP3Unavailable = errors.New("media: mp3 encoder (lame) is not installed")

// MP3Options configure an MP3 encoder.
type MP3Options struct {
	Binary string // default "lame", looked up on PATH
	// Concurrency bounds the encodes that run at once (default GOMAXPROCS):
	// each is a process that keeps a core busy, and many calls that end
	// together must not starve the media clock.
	Concurrency int
	// BitrateKbps per channel (default 24: 8 kHz speech, about a fifth of
	// the WAV's size).
	BitrateKbps int
}

// MP3Encoder turns recordings (8 kHz 16-bit WAV) into MP3 files with the
// lame binary. Encoding runs after a recording ends, so the media path
// never waits on it.
type MP3Encoder struct {
	bin     string
	sem     chan struct{}
	bitrate int
}

// NewMP3Encoder returns an encoder; it is usable when the binary is
// missing (Encode then returns ErrMP3Unavailable).
func NewMP3Encoder(opts MP3Options) *MP3Encoder {
	if opts.Binary == "" {
		opts.Binary = "lame"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	if opts.BitrateKbps <= 0 {
		opts.BitrateKbps = 24
	}
	e := &MP3Encoder{sem: make(chan struct{}, opts.Concurrency), bitrate: opts.BitrateKbps}
	if p, err := exec.LookPath(opts.Binary); err == nil {
		e.bin = p
	}
	return e
}

// Available reports whether this encoder found its binary.
func (e *MP3Encoder) Available() bool { return e != nil && e.bin != "" }

// mp3Deadline bounds one encode: lame runs at tens of times real time, so
// a minute plus the audio's own length only ends a stuck process.
func mp3Deadline(wavBytes int64, channels int) time.Duration {
	audio := time.Duration(wavBytes/int64(2*sampleRate*max(channels, 1))) * time.Second
	return time.Minute + audio
}

// Encode writes the WAV recording at wavPath as an MP3 file at mp3Path and
// returns its size. The output goes to a temporary file renamed into place,
// so mp3Path never holds a partial file; it is capped at the WAV's size
// (an MP3 at these bitrates is far smaller), so a misbehaving encoder
// cannot fill the disk.
func (e *MP3Encoder) Encode(ctx context.Context, wavPath, mp3Path string, channels int) (int64, error) {
	if !e.Available() {
		return 0, ErrMP3Unavailable
	}
	select {
	case e.sem <- struct{}{}:
		defer func() { <-e.sem }()
	case <-ctx.Done():
		return 0, fmt.Errorf("media: mp3 encode of %s: %w", wavPath, ctx.Err())
	}
	in, err := os.Open(wavPath)
	if err != nil {
		return 0, fmt.Errorf("media: mp3 encode: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, fmt.Errorf("media: mp3 encode: %w", err)
	}
	tmp := mp3Path + ".part"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, fmt.Errorf("media: mp3 encode: %w", err)
	}
	n, err := e.run(ctx, in, out, st.Size(), channels)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, mp3Path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("media: mp3 encode of %s: %w", wavPath, err)
	}
	return n, nil
}

func (e *MP3Encoder) run(ctx context.Context, in io.Reader, out io.Writer, wavBytes int64, channels int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, mp3Deadline(wavBytes, channels))
	defer cancel()
	mode := "m"
	if channels == 2 {
		// Simple stereo keeps the two directions apart, as in the WAV.
		mode = "s"
	}
	// The WAV comes on stdin and the MP3 leaves on stdout, so no path is
	// ever read as an option. 8 kHz audio would make MPEG 2.5, which many
	// decoders (go-mp3, which PlayAudio uses, among them) do not read;
	// 16 kHz is MPEG 2, which every MP3 decoder reads.
	cmd := exec.CommandContext(ctx, e.bin, "--quiet", "--nohist", "--resample", "16", "-m", mode,
		"-b", strconv.Itoa(e.bitrate*max(channels, 1)), "-", "-")
	cmd.Stdin = in
	lw := &limitedWriter{w: out, left: wavBytes + 64<<10}
	cmd.Stdout = lw
	var stderr bytes.Buffer
	cmd.Stderr = &capWriter{b: &stderr, max: 4 << 10}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if lw.full {
			return 0, errors.New("lame wrote more than the WAV's size")
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("lame: %w", ctx.Err())
		}
		return 0, fmt.Errorf("lame: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if lw.n == 0 {
		return 0, errors.New("lame wrote nothing")
	}
	return lw.n, nil
}

// limitedWriter fails a write past its budget, which ends the process
// writing to it (a broken pipe).
type limitedWriter struct {
	w    io.Writer
	left int64
	n    int64
	full bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.full = true
		return 0, errors.New("output too large")
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	l.n += int64(n)
	return n, err
}

// capWriter keeps the first max bytes written to it and drops the rest, so
// a chatty process neither grows memory nor fails on its stderr.
type capWriter struct {
	b   *bytes.Buffer
	max int
}

func (c *capWriter) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
