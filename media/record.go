package media

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/media/wav"
)

// RecordOptions configure a recording.
type RecordOptions struct {
	// Channels is 1 (default: both directions mixed) or 2 (first channel:
	// audio received from the leg's remote, the caller; second: audio sent
	// to it, from the bridged peer or the endpoint).
	Channels int
	// MaxDuration stops the recording after this much recorded audio
	// (pauses excluded); 0 means no limit.
	MaxDuration time.Duration
	// TerminatingDigits stop the recording when the remote presses one.
	TerminatingDigits string
	// SilenceTimeout stops the recording after this long without speech
	// from the remote; 0 disables it.
	SilenceTimeout time.Duration
	// SilenceLevel is the mean absolute sample value under which a frame
	// counts as silence (default 200, about -44 dBFS).
	SilenceLevel int
}

// StopReason says why a recording ended.
type StopReason string

// Stop reasons.
const (
	StopRequested   StopReason = "stopped"
	StopMaxDuration StopReason = "max-duration"
	StopDigit       StopReason = "digit"
	StopSilence     StopReason = "silence"
	StopClosed      StopReason = "leg-closed"
	StopCancelled   StopReason = "cancelled"
)

// RecordResult describes a finished recording.
type RecordResult struct {
	Path     string
	Duration time.Duration // audio written (pauses excluded)
	Size     int64         // file size in bytes, header included
	Channels int
	Reason   StopReason
	Digit    rune // the terminating digit when Reason is StopDigit
}

// Recording is a WAV recording (8 kHz, 16-bit) in progress on a leg. A
// goroutine owned by the recording writes one 20 ms frame per tick of the
// wall clock, so the file's length follows real time even when packets are
// missing (gaps become silence).
type Recording struct {
	opts RecordOptions
	path string
	// detach removes the recording from what feeds it (a leg's taps, a
	// conference mixer).
	detach func()

	mu      sync.Mutex
	buf     [2][]int16
	paused  bool
	resync  bool // resumed: skip frame slots that fell in the pause
	reason  StopReason
	digit   rune
	stopped bool

	stop chan struct{}
	done chan struct{}
	res  RecordResult
	err  error
}

// maxBuffered bounds each direction's pending samples (one second).
const maxBuffered = sampleRate

// StartRecording starts recording the leg to a new file at path.
func (l *Leg) StartRecording(path string, opts RecordOptions) (*Recording, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if opts.Channels == 0 {
		opts.Channels = 1
	}
	if opts.Channels != 1 && opts.Channels != 2 {
		return nil, fmt.Errorf("media: recording needs 1 or 2 channels, got %d", opts.Channels)
	}
	if err := ValidateDTMF(opts.TerminatingDigits); err != nil {
		return nil, err
	}
	if opts.SilenceLevel <= 0 {
		opts.SilenceLevel = 200
	}
	f, w, err := createWAV(path, opts.Channels)
	if err != nil {
		return nil, err
	}
	r := &Recording{opts: opts, path: path, stop: make(chan struct{}), done: make(chan struct{})}
	r.detach = func() { l.taps.remove(r) }
	var digits <-chan DTMFEvent
	cancel := func() {}
	if opts.TerminatingDigits != "" {
		digits, cancel = l.SubscribeDTMF()
	}
	l.taps.add(r)
	go r.run(f, w, digits, cancel)
	return r, nil
}

// createWAV creates the file of a new recording.
func createWAV(path string, channels int) (*os.File, *wav.Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("media: creating recording: %w", err)
	}
	w, err := wav.NewWriter(f, sampleRate, channels)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, w, nil
}

// Record records until a stop condition of opts, ctx's end, or the leg's
// close, and returns the result. ctx ending is a normal stop (StopCancelled).
func (l *Leg) Record(ctx context.Context, path string, opts RecordOptions) (RecordResult, error) {
	r, err := l.StartRecording(path, opts)
	if err != nil {
		return RecordResult{}, err
	}
	select {
	case <-ctx.Done():
		r.finish(StopCancelled)
	case <-r.done:
	}
	<-r.done
	return r.res, r.err
}

// Pause stops writing audio until Resume; paused time is not recorded.
func (r *Recording) Pause() { r.mu.Lock(); r.paused = true; r.buf = [2][]int16{}; r.mu.Unlock() }

// Resume continues a paused recording.
func (r *Recording) Resume() {
	r.mu.Lock()
	if r.paused {
		r.paused, r.resync = false, true
	}
	r.mu.Unlock()
}

// Stop ends the recording and returns its result.
func (r *Recording) Stop() (RecordResult, error) {
	r.finish(StopRequested)
	<-r.done
	return r.res, r.err
}

// Done is closed when the recording has ended and its file is complete.
func (r *Recording) Done() <-chan struct{} { return r.done }

// Result returns the result once Done is closed.
func (r *Recording) Result() (RecordResult, error) {
	<-r.done
	return r.res, r.err
}

func (r *Recording) finish(reason StopReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	r.reason = reason
	close(r.stop)
}

func (r *Recording) push(dir int, pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.stopped {
		return
	}
	b := append(r.buf[dir], pcm...)
	if over := len(b) - maxBuffered; over > 0 {
		b = b[over:]
	}
	r.buf[dir] = b
}

// take pops one frame per direction, zero-padded.
func (r *Recording) take(in, out []int16) (paused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for dir, dst := range [2][]int16{in, out} {
		n := copy(dst, r.buf[dir])
		clear(dst[n:])
		r.buf[dir] = r.buf[dir][n:]
		if len(r.buf[dir]) == 0 {
			r.buf[dir] = r.buf[dir][:0:0] // let the backing array go
		}
	}
	return r.paused
}

func (r *Recording) run(f *os.File, w *wav.Writer, digits <-chan DTMFEvent, cancelDigits func()) {
	defer close(r.done)
	defer cancelDigits()
	defer r.detach()
	in := make([]int16, frameSamples)
	out := make([]int16, frameSamples)
	frame := make([]int16, frameSamples*r.opts.Channels)
	var frames int
	var silent time.Duration
	var werr error
	maxFrames := int(r.opts.MaxDuration / frameDuration)
	tick := time.NewTicker(frameDuration)
	defer tick.Stop()
	start := time.Now()
	due := 0
loop:
	for {
		select {
		case <-r.stop:
			break loop
		case ev, ok := <-digits:
			if !ok {
				digits = nil
				continue
			}
			if strings.ContainsRune(r.opts.TerminatingDigits, ev.Digit) {
				r.mu.Lock()
				r.digit = ev.Digit
				r.mu.Unlock()
				r.finish(StopDigit)
				break loop
			}
		case now := <-tick.C:
			// Write every frame due by the wall clock, so a late tick does
			// not shorten the file.
			target := int(now.Sub(start) / frameDuration)
			r.mu.Lock()
			if r.resync {
				// A late tick must not write the paused period as audio.
				r.resync = false
				due = target
			}
			r.mu.Unlock()
			for ; due < target; due++ {
				if r.take(in, out) {
					continue
				}
				mixFrame(frame, in, out, r.opts.Channels)
				if werr = w.Write(frame); werr != nil {
					r.finish(StopClosed)
					break loop
				}
				frames++
				if r.opts.SilenceTimeout > 0 {
					if meanAbs(in) < r.opts.SilenceLevel {
						silent += frameDuration
					} else {
						silent = 0
					}
					if silent >= r.opts.SilenceTimeout {
						r.finish(StopSilence)
						break loop
					}
				}
				if maxFrames > 0 && frames >= maxFrames {
					r.finish(StopMaxDuration)
					break loop
				}
			}
		}
	}
	cerr := w.Close()
	if err := f.Close(); cerr == nil {
		cerr = err
	}
	var size int64
	if fi, err := os.Stat(r.path); err == nil {
		size = fi.Size()
	}
	r.mu.Lock()
	r.res = RecordResult{
		Path: r.path, Duration: time.Duration(frames) * frameDuration, Size: size,
		Channels: r.opts.Channels, Reason: r.reason, Digit: r.digit,
	}
	r.mu.Unlock()
	switch {
	case werr != nil:
		r.err = fmt.Errorf("media: writing recording: %w", werr)
	case cerr != nil:
		r.err = fmt.Errorf("media: finishing recording: %w", cerr)
	}
}

func mixFrame(dst, in, out []int16, channels int) {
	if channels == 2 {
		for i := range in {
			dst[2*i], dst[2*i+1] = in[i], out[i]
		}
		return
	}
	for i := range in {
		dst[i] = clip16(int32(in[i]) + int32(out[i]))
	}
}

func clip16(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

func meanAbs(s []int16) int {
	var sum int
	for _, v := range s {
		if v < 0 {
			sum -= int(v)
		} else {
			sum += int(v)
		}
	}
	return sum / max(len(s), 1)
}
