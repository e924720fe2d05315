package speech

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const frame = 160 // 20 ms

// audio is synthetic call audio built from segments.
type audio []int16

func (a audio) silence(d time.Duration) audio {
	return append(a, make([]int16, samples(d))...)
}

// speech appends words of voiced syllables: harmonics of a 130 Hz voice up
// to 1.5 kHz (where formants put a voice's energy) under a Hann envelope, 40 ms between syllables and 150 ms between
// words, which is how speech rises and falls in energy.
func (a audio) speech(d time.Duration) audio {
	end := len(a) + samples(d)
	for syl := 0; len(a) < end; syl++ {
		n := min(samples(180*time.Millisecond), end-len(a))
		for i := range n {
			env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
			var v float64
			for k := 1; k <= 12; k++ {
				v += math.Sin(2*math.Pi*130*float64(k)*float64(len(a))/sampleRate) / math.Sqrt(float64(k))
			}
			a = append(a, int16(3000*env*v))
		}
		gap := 40 * time.Millisecond
		if syl%3 == 2 {
			gap = 150 * time.Millisecond
		}
		a = a.silence(min(gap, time.Duration(end-len(a))*time.Second/sampleRate))
	}
	return a
}

func (a audio) tone(hz float64, d time.Duration) audio {
	for range samples(d) {
		a = append(a, int16(8000*math.Sin(2*math.Pi*hz*float64(len(a))/sampleRate)))
	}
	return a
}

func (a audio) noise(rms float64, d time.Duration) audio {
	r := rand.New(rand.NewPCG(1, 2))
	for range samples(d) {
		a = append(a, int16(r.NormFloat64()*rms))
	}
	return a
}

// rumble appends brown noise (integrated white noise): its energy sits
// below a few hundred hertz and swings from frame to frame like speech's.
func (a audio) rumble(peak float64, d time.Duration) audio {
	r := rand.New(rand.NewPCG(3, 4))
	var y float64
	for range samples(d) {
		y = 0.995*y + r.NormFloat64()
		a = append(a, int16(max(-32768, min(32767, y*peak/30))))
	}
	return a
}

func samples(d time.Duration) int { return int(d * sampleRate / time.Second) }

// run feeds a frame every 20 ms of a simulated clock, then, when the audio
// ends (the peer stops sending), calls Check at each Deadline.
func run(t *testing.T, cfg AMDConfig, a audio) AMDDecision {
	t.Helper()
	start := time.Unix(1000, 0)
	d := NewDetector(cfg, start)
	now := start
	for i := 0; i+frame <= len(a); i += frame {
		now = now.Add(20 * time.Millisecond)
		if dec, ok := d.Feed(now, a[i:i+frame]); ok {
			return dec
		}
	}
	for range 100 {
		dl := d.Deadline()
		if dl.Before(now) {
			t.Fatalf("deadline %v is before now %v", dl.Sub(start), now.Sub(start))
		}
		now = dl
		if dec, ok := d.Check(now); ok {
			return dec
		}
	}
	t.Fatal("no decision after 100 deadlines")
	return AMDDecision{}
}

func TestDetector(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	tests := []struct {
		name       string
		cfg        AMDConfig
		audio      audio
		want       AMDResult
		at, within time.Duration // decision time and its tolerance
		beep       bool
	}{
		{"short greeting then silence is a person", AMDConfig{},
			audio{}.silence(ms(300)).speech(ms(800)).silence(sec(3)), AMDHuman, ms(1900), ms(200), false},
		{"short greeting then no packets is a person", AMDConfig{},
			audio{}.silence(ms(300)).speech(ms(800)), AMDHuman, ms(1900), ms(200), false},
		{"two short words", AMDConfig{},
			audio{}.speech(ms(400)).silence(ms(300)).speech(ms(500)).silence(sec(2)), AMDHuman, ms(2000), ms(250), false},
		{"long greeting is a machine", AMDConfig{},
			audio{}.silence(ms(200)).speech(sec(5)), AMDMachine, ms(2000), ms(200), false},
		{"delayResult waits for the beep", AMDConfig{DelayResult: true},
			audio{}.speech(sec(4)).silence(ms(400)).tone(1000, ms(500)).silence(sec(1)), AMDMachine, sec(4.92), ms(60), true},
		{"delayResult without a beep waits for machineSpeechEndThreshold", AMDConfig{DelayResult: true, MachineSpeechEndThreshold: sec(1.5)},
			audio{}.speech(sec(4)).silence(sec(3)), AMDMachine, sec(5.5), ms(200), false},
		{"a beep alone is a machine", AMDConfig{},
			audio{}.silence(ms(500)).tone(1400, ms(400)).silence(sec(1)), AMDMachine, ms(660), ms(60), true},
		{"speechThreshold caps the greeting", AMDConfig{SpeechThreshold: sec(1)},
			audio{}.speech(sec(1.5)).silence(sec(2)), AMDMachine, ms(1100), ms(150), false},
		{"speechEndThreshold shortens the pause", AMDConfig{SpeechEndThreshold: ms(400)},
			audio{}.speech(ms(700)).silence(sec(2)), AMDHuman, ms(1100), ms(150), false},
		{"silence", AMDConfig{},
			audio{}.silence(sec(12)), AMDSilence, sec(10), ms(20), false},
		{"no packets at all", AMDConfig{SilenceTimeout: sec(3)},
			audio{}, AMDSilence, sec(3), 0, false},
		{"steady noise is nobody speaking", AMDConfig{SilenceTimeout: sec(4)},
			audio{}.noise(1500, sec(5)), AMDSilence, sec(4), ms(20), false},
		{"rumble is nobody speaking", AMDConfig{SilenceTimeout: sec(4)},
			audio{}.rumble(6000, sec(5)), AMDSilence, sec(4), ms(20), false},
		{"detectionTimeout before silenceTimeout", AMDConfig{DetectionTimeout: sec(3)},
			audio{}.silence(sec(4)), AMDTimeout, sec(3), ms(20), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec := run(t, tc.cfg, tc.audio)
			if dec.Result != tc.want || dec.Beep != tc.beep {
				t.Fatalf("got %+v, want %s (beep %v)", dec, tc.want, tc.beep)
			}
			if diff := dec.After - tc.at; diff < -tc.within || diff > tc.within {
				t.Errorf("decided after %v, want %v ± %v (%s)", dec.After, tc.at, tc.within, dec.Reason)
			}
		})
	}
}

func TestPureTone(t *testing.T) {
	for _, hz := range []float64{440, 987, 1000, 1400, 2100} {
		a := audio{}.tone(hz, 20*time.Millisecond)
		pure, got := pureTone(a, rms(a))
		if !pure || math.Abs(got-hz) > 15 {
			t.Errorf("%v Hz: pure %v at %v Hz", hz, pure, got)
		}
	}
	// Ringback (440+480 Hz) and speech are not one tone.
	var two audio
	for i := range frame {
		two = append(two, int16(4000*(math.Sin(2*math.Pi*440*float64(i)/sampleRate)+math.Sin(2*math.Pi*480*float64(i)/sampleRate))))
	}
	if pure, hz := pureTone(two, rms(two)); pure {
		t.Errorf("ringback is a pure tone at %v Hz", hz)
	}
	sp := audio{}.speech(time.Second)
	for i := 0; i+frame <= len(sp); i += frame {
		if f := sp[i : i+frame]; rms(f) >= minLevel {
			if pure, hz := pureTone(f, rms(f)); pure {
				t.Errorf("speech frame %d is a pure tone at %v Hz", i/frame, hz)
			}
		}
	}
}

func BenchmarkDetectorFeed(b *testing.B) {
	// Speech and tone alternate: the costly frames (Goertzel runs on
	// loud ones); the detector starts over when it decides.
	a := audio{}.speech(time.Second).tone(1000, time.Second)
	cfg := AMDConfig{DetectionTimeout: time.Hour, SpeechThreshold: time.Hour, DelayResult: true}
	now := time.Unix(0, 0)
	d := NewDetector(cfg, now)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		off := (i * frame) % (len(a) - frame)
		now = now.Add(20 * time.Millisecond)
		if _, ok := d.Feed(now, a[off:off+frame]); ok {
			d = NewDetector(cfg, now)
		}
	}
}
