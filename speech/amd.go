// Package speech holds the engines that listen to or produce speech on a
// call; media feeds them PCM frames and knows none of them.
package speech

import (
	"fmt"
	"math"
	"time"
)

// AMDResult is an answering machine detection result, as the Voice API's
// machineDetectionResult.value names it.
type AMDResult string

// Results of answering machine detection.
const (
	AMDHuman   AMDResult = "human"
	AMDMachine AMDResult = "answering-machine"
	AMDSilence AMDResult = "silence"
	AMDTimeout AMDResult = "timeout"
	AMDError   AMDResult = "error"
)

// AMDConfig holds the timing parameters of createCall's machineDetection
// object; a zero field takes the specification's default.
type AMDConfig struct {
	// DetectionTimeout bounds the whole detection (default 15 s): no
	// decision by then is AMDTimeout.
	DetectionTimeout time.Duration
	// SilenceTimeout is how long nobody may speak before the result is
	// AMDSilence (default 10 s).
	SilenceTimeout time.Duration
	// SpeechThreshold is the greeting length from which the callee is a
	// machine whatever else the audio says (default 10 s).
	SpeechThreshold time.Duration
	// SpeechEndThreshold is the silence after which the callee has
	// finished speaking (default 5 s).
	SpeechEndThreshold time.Duration
	// MachineSpeechEndThreshold is the silence after which a machine's
	// greeting is over, for DelayResult (default SpeechEndThreshold).
	MachineSpeechEndThreshold time.Duration
	// DelayResult holds an answering-machine result until the greeting is
	// over (its beep, MachineSpeechEndThreshold of silence, or
	// DetectionTimeout), so a message left then is not cut by the beep.
	DelayResult bool
}

// Defaults of the Voice API's machineDetection object.
const (
	DefaultDetectionTimeout   = 15 * time.Second
	DefaultSilenceTimeout     = 10 * time.Second
	DefaultSpeechThreshold    = 10 * time.Second
	DefaultSpeechEndThreshold = 5 * time.Second
)

// WithDefaults fills the zero fields.
func (c AMDConfig) WithDefaults() AMDConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DetectionTimeout, DefaultDetectionTimeout)
	def(&c.SilenceTimeout, DefaultSilenceTimeout)
	def(&c.SpeechThreshold, DefaultSpeechThreshold)
	def(&c.SpeechEndThreshold, DefaultSpeechEndThreshold)
	def(&c.MachineSpeechEndThreshold, c.SpeechEndThreshold)
	return c
}

// The content rules, in the spirit of Asterisk's app_amd: a person answers
// with a short phrase ("Hello?", "Hi, this is Anna") and waits for the
// caller; a machine plays a greeting of several seconds. espeak-ng says
// "Hello, Anna speaking." in 1.5 s and "Hello, you've reached Anna. Leave a
// message." in 2.7 s; the line between them is humanGreetingMax. These
// rules decide first; SpeechThreshold and SpeechEndThreshold cap them (a
// smaller SpeechThreshold calls a shorter greeting a machine, a smaller
// SpeechEndThreshold ends a greeting sooner), as the specification has the
// thresholds decide when "the audio content itself" did not.
const (
	// humanGreetingMax is the longest greeting (first speech to last) a
	// person gives before waiting.
	humanGreetingMax = 1800 * time.Millisecond
	// afterGreetingSilence is the pause that ends a person's greeting
	// (Asterisk: 800 ms).
	afterGreetingSilence = 800 * time.Millisecond
	// minWord is the voiced run that counts as speech, so clicks and
	// packet bursts do not (Asterisk: 100 ms).
	minWord = 100 * time.Millisecond
	// minLevel is the RMS under which a frame is silence whatever the
	// background (about -40 dBFS).
	minLevel = 330
	// speechOverFloor is how far over the quietest frame of the last
	// floorWindow frames a frame must be to be voiced (about 9.5 dB): a
	// steady noise stays at its floor, speech rises and falls by more
	// than that between syllables.
	speechOverFloor = 3
	floorWindow     = 75 // 1.5 s of 20 ms frames
	// beepMin is how long a pure tone must last to be a machine's
	// end-of-greeting beep; beepPurity the share of the frame's energy at
	// one frequency for it to count as a tone.
	beepMin    = 160 * time.Millisecond
	beepPurity = 0.7
	beepLowHz  = 300
	beepHighHz = 3000
)

// sampleRate is the rate of the PCM fed to a Detector.
const sampleRate = 8000

// AMDDecision is a Detector's result.
type AMDDecision struct {
	Result AMDResult
	// After is the time from the start of detection to the decision.
	After time.Duration
	// Beep says a machine's beep was heard; Greeting is how long the
	// callee spoke (first speech to last).
	Beep     bool
	Greeting time.Duration
	// Reason says which rule decided, for the call's log.
	Reason string
}

// Detector tells a person from an answering machine by what the callee
// sends after answering: energy-based voice activity per frame, speech and
// silence segments, greeting length, and a machine's beep (a sustained pure
// tone, measured with the Goertzel algorithm). It is not safe for
// concurrent use; Feed runs per received frame and Check when Deadline
// passes without audio (a peer may send nothing at all).
type Detector struct {
	cfg   AMDConfig
	start time.Time

	levels [floorWindow]float64
	nLevel int
	prev   int16 // last sample of the previous frame, for the pre-emphasis

	run         time.Duration // current voiced run
	runStart    time.Time
	firstSpeech time.Time // zero: nobody spoke yet
	lastVoiced  time.Time
	words       int

	tone     time.Duration // current pure-tone run
	toneHz   float64
	beep     bool
	beepDone bool

	machine  bool // decided, held for DelayResult
	machineR string
	done     bool
	dec      AMDDecision
}

// NewDetector starts detection at start (the answer).
func NewDetector(cfg AMDConfig, start time.Time) *Detector {
	return &Detector{cfg: cfg.WithDefaults(), start: start}
}

// Feed takes a frame of 8 kHz audio received at now; ok reports a decision.
// pcm is not kept.
func (d *Detector) Feed(now time.Time, pcm []int16) (dec AMDDecision, ok bool) {
	if d.done {
		return d.dec, true
	}
	if len(pcm) == 0 {
		return d.Check(now)
	}
	dur := time.Duration(len(pcm)) * time.Second / sampleRate
	level := d.emphasized(pcm)
	floor := d.floor(level)
	pure, hz := false, 0.0
	if level >= minLevel {
		pure, hz = pureTone(pcm, rms(pcm))
	}
	switch {
	case pure:
		// A tone is not speech: it neither extends the greeting nor ends
		// the silence after it.
		if d.tone > 0 && math.Abs(hz-d.toneHz) > 60 {
			d.tone = 0
		}
		if d.tone == 0 {
			d.toneHz = hz
		}
		d.tone += dur
		if d.tone >= beepMin {
			d.beep = true
		}
		d.run = 0
	case level >= minLevel && level >= speechOverFloor*floor:
		if d.beep {
			d.beepDone = true // speech after the beep ends it too
		}
		d.tone = 0
		if d.run == 0 {
			d.runStart = now.Add(-dur)
		}
		d.run += dur
		if d.run >= minWord {
			if d.run-dur < minWord {
				d.words++
			}
			if d.firstSpeech.IsZero() {
				d.firstSpeech = d.runStart
			}
			d.lastVoiced = now
		}
	default:
		if d.beep {
			d.beepDone = true
		}
		d.tone = 0
		d.run = 0
	}
	if d.beep && !d.machine {
		d.decideMachine(now, "beep")
	}
	if !d.firstSpeech.IsZero() && !d.machine {
		g := d.greeting()
		switch {
		case g >= d.cfg.SpeechThreshold:
			d.decideMachine(now, fmt.Sprintf("speech of %v reached speechThreshold", g.Round(time.Millisecond)))
		case g > humanGreetingMax:
			d.decideMachine(now, fmt.Sprintf("greeting longer than %v (%d words)", humanGreetingMax, d.words))
		}
	}
	if d.done {
		return d.dec, true
	}
	return d.Check(now)
}

// Check decides on the time that passed without audio; ok reports a
// decision.
func (d *Detector) Check(now time.Time) (dec AMDDecision, ok bool) {
	if d.done {
		return d.dec, true
	}
	since := now.Sub(d.start)
	switch {
	case d.machine:
		switch {
		case d.beepDone:
			d.decide(now, AMDMachine, d.machineR+"; beep ended")
		case !d.lastVoiced.IsZero() && now.Sub(d.lastVoiced) >= d.cfg.MachineSpeechEndThreshold && d.tone == 0:
			d.decide(now, AMDMachine, d.machineR+"; greeting over")
		case since >= d.cfg.DetectionTimeout:
			d.decide(now, AMDMachine, d.machineR+"; detectionTimeout while the greeting went on")
		}
	case d.firstSpeech.IsZero():
		switch {
		case since >= d.cfg.SilenceTimeout && d.cfg.SilenceTimeout <= d.cfg.DetectionTimeout:
			d.decide(now, AMDSilence, "nobody spoke within silenceTimeout")
		case since >= d.cfg.DetectionTimeout:
			d.decide(now, AMDTimeout, "detectionTimeout")
		}
	default:
		quiet := now.Sub(d.lastVoiced)
		switch {
		case quiet >= d.endSilence():
			d.decide(now, AMDHuman, fmt.Sprintf("greeting of %v, then %v of silence", d.greeting().Round(time.Millisecond), quiet.Round(time.Millisecond)))
		case since >= d.cfg.DetectionTimeout:
			d.decide(now, AMDTimeout, "detectionTimeout")
		}
	}
	return d.dec, d.done
}

// Deadline is when Check next has something to decide if no audio comes.
func (d *Detector) Deadline() time.Time {
	t := d.start.Add(d.cfg.DetectionTimeout)
	earlier := func(u time.Time) {
		if u.Before(t) {
			t = u
		}
	}
	switch {
	case d.done:
		return d.start.Add(d.dec.After)
	case d.machine:
		if !d.lastVoiced.IsZero() {
			earlier(d.lastVoiced.Add(d.cfg.MachineSpeechEndThreshold))
		}
	case d.firstSpeech.IsZero():
		earlier(d.start.Add(d.cfg.SilenceTimeout))
	default:
		earlier(d.lastVoiced.Add(d.endSilence()))
	}
	return t
}

// endSilence is the pause that ends a greeting short enough for a person.
func (d *Detector) endSilence() time.Duration {
	return min(afterGreetingSilence, d.cfg.SpeechEndThreshold)
}

func (d *Detector) greeting() time.Duration {
	if d.firstSpeech.IsZero() {
		return 0
	}
	return d.lastVoiced.Sub(d.firstSpeech)
}

func (d *Detector) decideMachine(now time.Time, reason string) {
	d.machine, d.machineR = true, reason
	if !d.cfg.DelayResult {
		d.decide(now, AMDMachine, reason)
	}
}

func (d *Detector) decide(now time.Time, r AMDResult, reason string) {
	d.done = true
	d.dec = AMDDecision{Result: r, After: now.Sub(d.start), Beep: d.beep, Greeting: d.greeting(), Reason: reason}
}

// floor records level and returns the quietest level of the last
// floorWindow frames before it.
func (d *Detector) floor(level float64) float64 {
	n := min(d.nLevel, floorWindow)
	f := level
	for _, v := range d.levels[:n] {
		f = min(f, v)
	}
	d.levels[d.nLevel%floorWindow] = level
	d.nLevel++
	return f
}

// emphasized is the frame's RMS after a first-order pre-emphasis (y[n] =
// x[n] - 0.9·x[n-1], as speech front ends do): speech keeps its formants
// (500-3400 Hz), while rumble and brown noise, whose energy is below a few
// hundred hertz and swings wildly from frame to frame, mostly vanish, so
// they neither pass the level nor lift the floor in bursts.
func (d *Detector) emphasized(pcm []int16) float64 {
	var sum float64
	prev := float64(d.prev)
	for _, v := range pcm {
		x := float64(v)
		y := x - 0.9*prev
		sum += y * y
		prev = x
	}
	d.prev = pcm[len(pcm)-1]
	return math.Sqrt(sum / float64(len(pcm)))
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// pureTone reports whether most of the frame's energy sits at one
// frequency between beepLowHz and beepHighHz, and which. The zero
// crossings give the frequency of a pure tone to a bin or so; Goertzel on
// a few bins around it measures how much energy is there, so a frame costs
// a handful of passes rather than a whole filter bank.
func pureTone(pcm []int16, level float64) (bool, float64) {
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	est := float64(crossings) * sampleRate / (2 * float64(len(pcm)))
	if est < beepLowHz-50 || est > beepHighHz+50 {
		return false, 0
	}
	n := float64(len(pcm))
	total := level * level * n // sum of squares
	best, bestHz := 0.0, 0.0
	for hz := est - 50; hz <= est+50; hz += 12.5 {
		if p := goertzel(pcm, hz); p > best {
			best, bestHz = p, hz
		}
	}
	// A sinusoid of amplitude A over n samples has |X|² = (nA/2)² and
	// sum of squares nA²/2: the share is 2|X|²/(n·Σx²), 1 for a pure tone.
	share := 2 * best / (n * total)
	return share >= beepPurity && bestHz >= beepLowHz && bestHz <= beepHighHz, bestHz
}

// goertzel returns |X(hz)|² of pcm.
func goertzel(pcm []int16, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/sampleRate)
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}
