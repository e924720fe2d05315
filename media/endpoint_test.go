package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

func sine(rate, channels int, seconds float64, freq float64) []int16 {
	n := int(float64(rate) * seconds)
	out := make([]int16, 0, n*channels)
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for c := 0; c < channels; c++ {
			out = append(out, v)
		}
	}
	return out
}

// A 1 s WAV at 16 kHz stereo arrives as 50 packets of 20 ms: marker on the
// first only, sequence +1 and timestamp +160 each, in the leg's codec.
func TestPlayWAVPacketsAndTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rate, ch int
		pt       string
	}{
		{"16k stereo to PCMU", 16000, 2, "0"},
		{"44.1k mono to PCMA", 44100, 1, "8"},
		{"48k stereo to PCMU", 48000, 2, "0"},
		{"8k mono to PCMA", 8000, 1, "8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newTestManager(t, nil)
			s := m.NewSession(SessionOptions{})
			defer s.Close()
			p := newPeer(t, false)
			l := p.answered(t, s, "caller", tc.pt)
			path := filepath.Join(t.TempDir(), "prompt.wav")
			if err := os.WriteFile(path, wav.Encode(tc.rate, tc.ch, sine(tc.rate, tc.ch, 1, 400)), 0o600); err != nil {
				t.Fatal(err)
			}
			errc := testenv.Go(t, func(ctx context.Context) error { return l.Play(ctx, path, PlayOptions{}) })
			pkts, err := p.collect(errc)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != 50 {
				t.Fatalf("got %d packets, want 50", len(pkts))
			}
			for i, pk := range pkts {
				if pk.Marker != (i == 0) {
					t.Fatalf("packet %d marker %v", i, pk.Marker)
				}
				if len(pk.Payload) != 160 {
					t.Fatalf("packet %d payload %d bytes", i, len(pk.Payload))
				}
				if i > 0 {
					if pk.SequenceNumber != pkts[i-1].SequenceNumber+1 || pk.Timestamp != pkts[i-1].Timestamp+160 {
						t.Fatalf("packet %d seq %d ts %d after seq %d ts %d", i, pk.SequenceNumber, pk.Timestamp, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp)
					}
				}
				if want := map[string]uint8{"0": 0, "8": 8}[tc.pt]; pk.PayloadType != want {
					t.Fatalf("PT %d want %d", pk.PayloadType, want)
				}
			}
			// The 400 Hz tone survives resampling: energy in the middle packet.
			if e := energy(decodePT(pkts[25].PayloadType, pkts[25].Payload)); e < 2000 {
				t.Fatalf("tone too quiet after resampling: mean abs %d", e)
			}
		})
	}
}

func decodePT(pt uint8, b []byte) []int16 {
	if pt == 8 {
		return g711.DecodeAlawBuf(nil, b)
	}
	return g711.DecodeUlawBuf(nil, b)
}

func energy(s []int16) int { return meanAbs(s) }

func TestPlayFromURLAndInterruptByDTMF(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(wav.Encode(8000, 1, sine(8000, 1, 5, 300)))
	}))
	defer srv.Close()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0", "101 telephone-event/8000")
	digits, cancel := l.SubscribeDTMF()
	defer cancel()
	errc := testenv.Go(t, func(ctx context.Context) error { return l.Play(ctx, srv.URL+"/x.wav", PlayOptions{StopOnDTMF: true}) })
	if _, err := p.recv(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.sendTS(101, true, 800, []byte{7, 10, 0, 160})
	p.sendTS(101, false, 800, []byte{7, 0x8a, 1, 64})
	select {
	case err := <-errc:
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Play returned %v, want ErrInterrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Play not interrupted by DTMF")
	}
	if ev := <-digits; ev.Digit != '7' {
		t.Fatalf("digit %q", ev.Digit)
	}
}

func TestPlayCancelAndErrors(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.PlayPCM(ctx, make([]int16, 8000*10), PlayOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled play returned %v", err)
	}
	bad := filepath.Join(t.TempDir(), "x.txt")
	_ = os.WriteFile(bad, []byte("hello, not audio"), 0o600)
	if err := l.Play(context.Background(), bad, PlayOptions{}); !errors.Is(err, ErrUnsupportedAudio) {
		t.Fatalf("text file: %v", err)
	}
	if err := l.PlaySilence(context.Background(), 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := p.recvStream(10, 5*time.Second, 300*time.Millisecond); len(got) < 3 {
		t.Fatalf("silence: %d packets", len(got))
	}
}

func TestRingbackCadence(t *testing.T) {
	us := &toneSource{freqs: []float64{440, 480}, on: 2 * sampleRate, off: 4 * sampleRate, amp: 6000}
	frame := make([]int16, frameSamples)
	var loud, quiet int
	for i := 0; i < 300; i++ { // 6 s = one cadence period
		us.next(frame)
		if meanAbs(frame) > 1000 {
			loud++
		} else {
			quiet++
		}
	}
	if loud != 100 || quiet != 200 {
		t.Fatalf("US ringback: %d loud and %d quiet frames, want 100/200", loud, quiet)
	}
}

func TestSpeakNonSilent(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	t.Parallel()
	m := newTestManager(t, nil)
	pcm, err := m.TTS().Synthesize(context.Background(), "Hello, thank you for calling.", Voice{Name: "julie"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < sampleRate/2 || meanAbs(pcm) < 100 {
		t.Fatalf("speech is %d samples, mean abs %d", len(pcm), meanAbs(pcm))
	}
	if _, err := m.TTS().Synthesize(context.Background(), "Hello, thank you for calling.", Voice{Name: "julie"}); err != nil || m.TTS().CacheLen() != 1 {
		t.Fatalf("second synthesis: %v, cache %d", err, m.TTS().CacheLen())
	}
	ssml := `<speak>Press <emphasis>one</emphasis><break time="300ms"/><lang xml:lang="fr-FR">bonjour</lang></speak>`
	if pcm, err := m.TTS().Synthesize(context.Background(), ssml, Voice{Gender: "male", Locale: "en_UK"}); err != nil || meanAbs(pcm) < 100 {
		t.Fatalf("SSML: %v", err)
	}

	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "8")
	errc := testenv.Go(t, func(ctx context.Context) error { return l.Speak(ctx, "one two three", Voice{}, PlayOptions{}) })
	pkts, err := p.collect(errc)
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	for _, pk := range pkts {
		all = append(all, g711.DecodeAlawBuf(nil, pk.Payload)...)
	}
	if len(pkts) < 25 || meanAbs(all) < 100 {
		t.Fatalf("spoken audio: %d packets, mean abs %d", len(pkts), meanAbs(all))
	}
}

func TestSpeakWithoutTTSIsAnError(t *testing.T) {
	tts := NewTTS(TTSOptions{Binary: "espeak-ng-not-installed-here"})
	if tts.Available() {
		t.Fatal("missing binary reported available")
	}
	if _, err := tts.Synthesize(context.Background(), "hi", Voice{}); !errors.Is(err, ErrTTSUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestVoiceMapping(t *testing.T) {
	for _, tc := range []struct {
		v    Voice
		want string
	}{
		{Voice{}, "en-us+f3"},
		{Voice{Name: "Paul"}, "en-us+m3"},
		{Voice{Name: "kate", Locale: "es_MX"}, "en-gb+f3"},
		{Voice{Locale: "es_MX", Gender: "male"}, "es-419+m3"},
		{Voice{Locale: "fr-CA"}, "fr-fr+f3"},
		{Voice{Locale: "sv_SE"}, "sv+f3"},
		{Voice{Locale: "--evil"}, "en-us+f3"},
	} {
		if got := tc.v.Espeak(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestCleanSSML(t *testing.T) {
	for in, want := range map[string]string{
		`<speak>Hi <amazon:effect name="whispered">there</amazon:effect></speak>`: `<speak>Hi there</speak>`,
		`<speak><!-- c -->a<break time="1s"/>b</speak>`:                           `<speak>a<break time="1s"/>b</speak>`,
		`<speak><audio src="http://x/y.wav">alt</audio> 1 < 2</speak>`:            `<speak>alt 1 &lt; 2</speak>`,
		`<p><s>One.</s></p>`: `<p><s>One.</s></p>`,
	} {
		if got := CleanSSML(in); got != want {
			t.Errorf("CleanSSML(%q) = %q, want %q", in, got, want)
		}
	}
	if LooksLikeSSML("1 < 2 and 3 > 2") || !LooksLikeSSML("<speak>x</speak>") {
		t.Fatal("LooksLikeSSML misjudged")
	}
}

// testdata/speech.mp3 is the first seconds of go-mp3's example/mpeg2.mp3
// (synthesized speech of a public-domain text, MPEG-2 Layer III).
func TestDecodeMP3(t *testing.T) {
	f, err := os.Open("testdata/speech.mp3")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := DecodeAudio(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < sampleRate || meanAbs(pcm) < 50 {
		t.Fatalf("decoded %d samples at 8 kHz, mean abs %d", len(pcm), meanAbs(pcm))
	}
	if _, err := DecodeAudio(bytes.NewReader([]byte("ID3\x04\x00garbage"))); !errors.Is(err, ErrUnsupportedAudio) {
		t.Fatalf("garbage MP3: %v", err)
	}
}

func FuzzDecodeAudio(f *testing.F) {
	f.Add(wav.Encode(16000, 2, []int16{1, 2, 3, 4}))
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeAudio(bytes.NewReader(b))
	})
}

func TestTTSCacheIsBounded(t *testing.T) {
	tts := NewTTS(TTSOptions{CacheEntries: 2, CacheBytes: 1000})
	tts.put("a", make([]int16, 100))
	tts.put("b", make([]int16, 100))
	tts.put("c", make([]int16, 100)) // evicts "a" (entries)
	if _, ok := tts.get("a"); ok || tts.CacheLen() != 2 {
		t.Fatalf("entry bound not enforced: len %d", tts.CacheLen())
	}
	tts.put("d", make([]int16, 450)) // 900 bytes: evicts until <= 1000 bytes
	if tts.bytes > 1000 {
		t.Fatalf("byte bound not enforced: %d bytes", tts.bytes)
	}
	tts.put("huge", make([]int16, 600)) // larger than the whole cache: not kept
	if _, ok := tts.get("huge"); ok {
		t.Fatal("oversized entry cached")
	}
}

// A burst of calls speaking the same new text runs espeak-ng once, and
// distinct texts run at most MaxSynth at a time.
func TestTTSSharesRunsAndBoundsThem(t *testing.T) {
	espeak := testenv.LookTool(t, "espeak-ng")
	dir := t.TempDir()
	log := filepath.Join(dir, "runs")
	wrapper := filepath.Join(dir, "espeak-wrapper")
	script := "#!/bin/sh\necho start >>" + log + "\nsleep 0.2\n" + espeak + " \"$@\"\nrc=$?\necho end >>" + log + "\nexit $rc\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tts := NewTTS(TTSOptions{Binary: wrapper, MaxSynth: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := func(texts []string) {
		var wg sync.WaitGroup
		errs := make(chan error, len(texts))
		for _, text := range texts {
			wg.Go(func() {
				if pcm, err := tts.Synthesize(ctx, text, Voice{}); err != nil || len(pcm) == 0 {
					errs <- fmt.Errorf("%q: %d samples, %v", text, len(pcm), err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	lines := func() []string {
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}

	same := make([]string, 20)
	for i := range same {
		same[i] = "one utterance for everyone"
	}
	run(same)
	if got := lines(); len(got) != 2 {
		t.Fatalf("20 callers of one new text: espeak-ng log %v, want one run", got)
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}

	var distinct []string
	for i := range 6 {
		distinct = append(distinct, fmt.Sprintf("utterance number %d", i))
	}
	run(distinct)
	running, most := 0, 0
	for _, l := range lines() {
		if l == "start" {
			running++
		} else {
			running--
		}
		most = max(most, running)
	}
	if most > 2 || len(lines()) != 12 {
		t.Errorf("6 texts with MaxSynth 2: %d runs at once at most, log %v", most, lines())
	}
}

// A caller that gives up stops waiting; the run it shares goes on for the
// others.
func TestTTSCallerGivesUp(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	tts := NewTTS(TTSOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tts.Synthesize(ctx, "nobody waits for this", Voice{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: %v", err)
	}
	pcm, err := tts.Synthesize(context.Background(), "nobody waits for this", Voice{})
	if err != nil || len(pcm) == 0 {
		t.Fatalf("after a caller gave up: %d samples, %v", len(pcm), err)
	}
}
