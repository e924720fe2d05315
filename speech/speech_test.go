package speech

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// TestPocketsphinxTranscribesSpeech is the done-when of transcription: a
// clear spoken sentence, recorded as a call records (8 kHz), comes back
// containing its words. The assertion takes most of the words, not the
// exact text: the model is general US English, the voice synthetic.
func TestPocketsphinxTranscribesSpeech(t *testing.T) {
	testenv.LookTool(t, "pocketsphinx_batch")
	path, _ := speak(t, t.TempDir(), "digits", "en-us+klatt4", "one two three four five")
	res, err := NewPocketsphinx(PocketsphinxOptions{}).Transcribe(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	text := res.Text()
	heard := 0
	for _, w := range []string{"one", "two", "three", "four", "five"} {
		if strings.Contains(" "+text+" ", " "+w+" ") {
			heard++
		}
	}
	if heard < 3 {
		t.Fatalf("transcript %q has %d of the 5 spoken words, want at least 3", text, heard)
	}
	if len(res.Transcripts) != 1 || res.Transcripts[0].Speaker != 0 || len(res.Clips) == 0 {
		t.Fatalf("result %+v: want one speaker and clips", res)
	}
	for _, c := range res.Clips {
		if c.Confidence < 0 || c.Confidence > 1 || c.End < c.Start || c.Text == "" {
			t.Errorf("bad clip %+v", c)
		}
	}
}

func TestPocketsphinxStopsWithContext(t *testing.T) {
	testenv.LookTool(t, "pocketsphinx_batch")
	path := filepath.Join(t.TempDir(), "long.wav")
	if err := os.WriteFile(path, wav.Encode(8000, 1, make([]int16, 8000*60)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewPocketsphinx(PocketsphinxOptions{}).Transcribe(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s after its deadline", d)
	}
}

func TestPocketsphinxMissingAndBadAudio(t *testing.T) {
	p := NewPocketsphinx(PocketsphinxOptions{Binary: "no-such-pocketsphinx"})
	if _, err := p.Transcribe(t.Context(), "x.wav"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.wav")
	if err := os.WriteFile(bad, []byte("not a wav file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readChannels(bad); !errors.Is(err, ErrAudio) {
		t.Fatalf("err = %v, want ErrAudio", err)
	}
}

// TestHTTPRecognizer runs against a server speaking the
// /v1/audio/transcriptions form: one upload per channel of a two-channel
// recording, each a mono WAV in "file", speakers in channel order.
func TestHTTPRecognizer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audio/transcriptions" || r.Method != http.MethodPost {
			http.Error(w, "wrong endpoint", http.StatusNotFound)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		a, err := wav.Decode(f)
		if err != nil || a.Channels != 1 || a.SampleRate != 8000 || r.FormValue("model") != "tiny" {
			http.Error(w, "bad upload", http.StatusBadRequest)
			return
		}
		n := calls.Add(1)
		lp := -0.1
		json.NewEncoder(w).Encode(map[string]any{"text": " channel " + map[int32]string{1: "one", 2: "two"}[n],
			"segments": []map[string]any{{"start": 0.5, "end": 1.5, "text": " hi", "avg_logprob": lp}}})
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "two.wav")
	if err := os.WriteFile(path, wav.Encode(8000, 2, make([]int16, 2*8000)), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := NewHTTP(HTTPOptions{URL: srv.URL, Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Transcribe(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Text(); got != "channel one\nchannel two" {
		t.Fatalf("text %q", got)
	}
	if len(res.Clips) != 2 || res.Clips[1].Speaker != 1 || res.Clips[0].Start != 0.5 || res.Transcripts[0].Confidence != 0.905 {
		t.Fatalf("result %+v", res)
	}

	// A server that fails, or answers something else, is an error with its words.
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "model not loaded", http.StatusServiceUnavailable)
	}))
	defer fail.Close()
	h, _ = NewHTTP(HTTPOptions{URL: fail.URL + "/v1/audio/transcriptions"})
	if _, err := h.Transcribe(t.Context(), path); err == nil || !strings.Contains(err.Error(), "model not loaded") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewHTTP(HTTPOptions{URL: "ftp://x"}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func TestQueueBoundsAndClose(t *testing.T) {
	q := NewQueue(1, 1)
	release := make(chan struct{})
	started := make(chan struct{})
	if err := q.Submit(func(ctx context.Context) { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	var ran atomic.Bool
	if err := q.Submit(func(context.Context) { ran.Store(true) }); err != nil {
		t.Fatal(err)
	}
	if err := q.Submit(func(context.Context) {}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third job: %v, want ErrQueueFull", err)
	}
	close(release)
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.Submit(func(context.Context) {}); !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if !ran.Load() {
		t.Fatal("Close returned before the queued job ran")
	}
}

// A long recording is cut at its quiet moments into pieces pocketsphinx
// decodes one by one; the pieces cover it exactly.
func TestSplitAtQuietMoments(t *testing.T) {
	const rate = 16000
	loud := func(n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(8000 * (i%40 - 20) / 20)
		}
		return s
	}
	// 60 s of sound with a quiet half second at 20 s and at 41 s.
	pcm := append(loud(20*rate), make([]int16, rate/2)...)
	pcm = append(pcm, loud(rate*41/2)...)
	pcm = append(pcm, make([]int16, rate/2)...)
	pcm = append(pcm, loud(len(pcm)/3)...)
	segs := split(pcm, rate)
	if len(segs) < 3 {
		t.Fatalf("%d segments of %.1f s: %v", len(segs), float64(len(pcm))/rate, segs)
	}
	for i, sg := range segs {
		if i == 0 && sg.from != 0 || i > 0 && sg.from != segs[i-1].to || sg.to-sg.from > int(maxSegment.Seconds())*rate {
			t.Fatalf("segments %v", segs)
		}
	}
	if segs[len(segs)-1].to != len(pcm) {
		t.Fatalf("segments %v do not end at %d", segs, len(pcm))
	}
	if cut := float64(segs[0].to) / rate; cut < 20 || cut > 20.5 {
		t.Errorf("first cut at %.2f s, want in the quiet at 20 s", cut)
	}
	if got := split(pcm[:10*rate], rate); len(got) != 1 || got[0] != (segment{0, 10 * rate}) {
		t.Errorf("a short recording: %v", got)
	}
}
