package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// A recording stopped by MaxDuration holds exactly that much audio: 1 s at
// 8 kHz 16-bit is 16000 bytes per channel plus the 44-byte header. The
// caller's audio lands in channel 1, what the callee sent in channel 2.
func TestRecordBridgedCallLength(t *testing.T) {
	for _, ch := range []int{1, 2} {
		t.Run(map[int]string{1: "mono", 2: "stereo"}[ch], func(t *testing.T) {
			t.Parallel()
			m := newTestManager(t, nil)
			s := m.NewSession(SessionOptions{})
			defer s.Close()
			x, y := newPeer(t, false), newPeer(t, false)
			a := x.answered(t, s, "caller", "0")
			b := y.answered(t, s, "callee", "0")
			if err := s.Bridge(a, b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "call.wav")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Both peers talk for the whole recording.
			talked := testenv.Go(t, func(tctx context.Context) error {
				tone := g711.EncodeUlawBuf(nil, sine(8000, 1, 0.02, 500))
				quiet := bytes.Repeat([]byte{0xff}, 160)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for i := 0; i < 150; i++ {
					select {
					case <-ctx.Done():
						return nil
					case <-tctx.Done():
						return nil
					case <-tick.C:
					}
					if err := errors.Join(x.talk(0, tone), y.talk(0, quiet)); err != nil {
						return err
					}
				}
				return nil
			})
			res, err := a.Record(ctx, path, RecordOptions{Channels: ch, MaxDuration: time.Second})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-talked; err != nil {
				t.Fatalf("talking: %v", err)
			}
			if res.Reason != StopMaxDuration || res.Duration != time.Second {
				t.Fatalf("result %+v", res)
			}
			want := int64(wav.HeaderSize + 16000*ch)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != want || res.Size != want {
				t.Fatalf("file %d bytes, result %d, want %d", fi.Size(), res.Size, want)
			}
			f, _ := os.Open(path)
			defer f.Close()
			audio, err := wav.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if audio.SampleRate != 8000 || audio.Channels != ch {
				t.Fatalf("%d Hz %d ch", audio.SampleRate, audio.Channels)
			}
			if meanAbs(audio.Samples) < 500 {
				t.Fatalf("recording is silent (mean abs %d)", meanAbs(audio.Samples))
			}
		})
	}
}

func TestRecordStopsOnDigitAndSilenceAndPauses(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0", "101 telephone-event/8000")
	dir := t.TempDir()

	rec, err := l.StartRecording(filepath.Join(dir, "d.wav"), RecordOptions{TerminatingDigits: "#"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	p.sendTS(101, true, 1600, []byte{1, 10, 0, 160}) // '1' does not terminate
	p.sendTS(101, false, 1600, []byte{1, 0x8a, 0, 160})
	p.sendTS(101, true, 3200, []byte{11, 0x8a, 0, 160}) // '#'
	select {
	case <-rec.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("terminating digit did not stop the recording")
	}
	res, err := rec.Result()
	if err != nil || res.Reason != StopDigit || res.Digit != '#' {
		t.Fatalf("result %+v err %v", res, err)
	}

	res, err = l.Record(context.Background(), filepath.Join(dir, "s.wav"), RecordOptions{SilenceTimeout: 200 * time.Millisecond, MaxDuration: 5 * time.Second})
	if err != nil || res.Reason != StopSilence || res.Duration < 200*time.Millisecond {
		t.Fatalf("silence: %+v %v", res, err)
	}

	began := time.Now()
	rec, err = l.StartRecording(filepath.Join(dir, "p.wav"), RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec.Pause()
	time.Sleep(300 * time.Millisecond)
	rec.Resume()
	time.Sleep(100 * time.Millisecond)
	res, err = rec.Stop()
	// Paused for at least 300 ms of the total: that time must be missing
	// (one frame of slack for tick rounding).
	if err != nil || res.Duration > time.Since(began)-300*time.Millisecond+frameDuration || res.Reason != StopRequested {
		t.Fatalf("paused recording: %+v %v over %v (paused time must not count)", res, err, time.Since(began))
	}
	if res.Size != int64(wav.HeaderSize)+int64(res.Duration/frameDuration)*320 {
		t.Fatalf("size %d for %v", res.Size, res.Duration)
	}
}

func TestRecordingEndsWhenLegCloses(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0")
	rec, err := l.StartRecording(filepath.Join(t.TempDir(), "c.wav"), RecordOptions{Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	s.Close()
	select {
	case <-rec.Done():
	default:
		t.Fatal("recording still running after Close returned")
	}
	if res, _ := rec.Result(); res.Reason != StopClosed {
		t.Fatalf("reason %s", res.Reason)
	}
}
