package speech

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// corpus is what the recogniser is measured on: short sentences of the kind
// a voicemail or an IVR hears, spoken by espeak-ng.
var corpus = []string{
	"hello world this is a test",
	"one two three four five",
	"please call me back tomorrow",
	"thank you for calling",
	"my account number is six seven eight nine",
	"I would like to speak to a sales representative",
	"the meeting is at ten in the morning",
	"can you send me the invoice",
	"yes that is correct",
	"I will be home after five",
	"press one for sales or two for support",
	"good morning how are you today",
}

// speak writes text spoken by espeak-ng voice as a call recording would
// hold it: 8 kHz mono 16-bit WAV.
func speak(t testing.TB, dir, name, voice, text string) (string, time.Duration) {
	t.Helper()
	pcm, err := media.DecodeAudio(bytes.NewReader(testenv.Espeak(t, voice, text)))
	if err != nil {
		t.Fatal(err)
	}
	// Half a second of silence each side, as a recording has around speech.
	pad := make([]int16, 4000)
	pcm = append(append(append([]int16{}, pad...), pcm...), pad...)
	path := filepath.Join(dir, name+".wav")
	if err := os.WriteFile(path, wav.Encode(8000, 1, pcm), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, time.Duration(len(pcm)) * time.Second / 8000
}

// wordErrors is the word-level edit distance between ref and hyp.
func wordErrors(ref, hyp string) (errs, words int) {
	r, h := normWords(ref), normWords(hyp)
	prev := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur := make([]int, len(h)+1)
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev = cur
	}
	return prev[len(h)], len(r)
}

func normWords(s string) []string {
	return strings.Fields(strings.ToLower(strings.NewReplacer("'", "", ",", " ", ".", " ").Replace(s)))
}

func TestWordErrors(t *testing.T) {
	for _, c := range []struct {
		ref, hyp string
		errs     int
	}{
		{"hello world", "hello world", 0},
		{"hello world", "hello", 1},
		{"hello world", "yellow world again", 2},
		{"", "noise", 1},
	} {
		if got, _ := wordErrors(c.ref, c.hyp); got != c.errs {
			t.Errorf("wordErrors(%q, %q) = %d, want %d", c.ref, c.hyp, got, c.errs)
		}
	}
}

// BenchmarkTranscribeCorpus measures the local recogniser the way the
// server runs it (one pocketsphinx process per recording) on the corpus
// spoken by espeak-ng voices, and reports word error rate and real-time
// factor (processing time over audio time):
//
//	go test ./speech -run XXX -bench TranscribeCorpus -benchtime 1x
func BenchmarkTranscribeCorpus(b *testing.B) {
	testenv.LookTool(b, "pocketsphinx_batch")
	p := NewPocketsphinx(PocketsphinxOptions{})
	dir := b.TempDir()
	for _, voice := range []string{"en-us+f3", "en-us+klatt4"} {
		b.Run(voice, func(b *testing.B) {
			type item struct {
				path, text string
				d          time.Duration
			}
			var items []item
			var audio time.Duration
			for i, text := range corpus {
				path, d := speak(b, dir, voice+"-"+string(rune('a'+i)), voice, text)
				items = append(items, item{path, text, d})
				audio += d
			}
			b.ResetTimer()
			cpu0 := childCPU()
			var errs, words int
			for range b.N {
				errs, words = 0, 0
				for _, it := range items {
					res, err := p.Transcribe(b.Context(), it.path)
					if err != nil {
						b.Fatal(err)
					}
					e, w := wordErrors(it.text, res.Text())
					errs, words = errs+e, words+w
					b.Logf("%-50q -> %q", it.text, res.Text())
				}
			}
			elapsed := b.Elapsed() / time.Duration(b.N)
			cpu := (childCPU() - cpu0) / time.Duration(b.N)
			b.ReportMetric(float64(errs)/float64(words), "WER")
			b.ReportMetric(elapsed.Seconds()/audio.Seconds(), "RTF")
			b.ReportMetric(cpu.Seconds()/audio.Seconds(), "cpuRTF")
			b.ReportMetric(audio.Seconds(), "audio-s")
		})
	}
}

// childCPU is the CPU time (user and system) of this process's finished
// children: the recogniser's processes.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
