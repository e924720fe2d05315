package speech

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/media"
)

// PocketsphinxOptions configure the local recogniser.
type PocketsphinxOptions struct {
	// Binary is pocketsphinx_batch (Debian's pocketsphinx package, 0.8 /
	// 5prealpha), looked up on PATH when it has no slash.
	Binary string
	// ModelDir holds en-us/ (acoustic model), en-us.lm.bin and
	// cmudict-en-us.dict, as Debian's pocketsphinx-en-us installs them
	// under /usr/share/pocketsphinx/model/en-us; empty: the binary's
	// built-in default, which is that directory.
	ModelDir string
}

// Pocketsphinx transcribes with CMU pocketsphinx, run as a child process
// per recording: offline, no model download, US English.
type Pocketsphinx struct {
	bin   string
	model string
}

var _ Recognizer = (*Pocketsphinx)(nil)

// ErrUnavailable is returned by a recogniser whose engine is not installed.
var ErrUnavailable = errors.New("speech: recogniser not installed")

// pocketsphinxRate is the sample rate of the US English acoustic model.
const pocketsphinxRate = 16000

// NewPocketsphinx returns the local recogniser; it is usable even when the
// binary is missing (Transcribe then returns ErrUnavailable).
func NewPocketsphinx(opts PocketsphinxOptions) *Pocketsphinx {
	if opts.Binary == "" {
		opts.Binary = "pocketsphinx_batch"
	}
	p := &Pocketsphinx{model: opts.ModelDir}
	if bin, err := exec.LookPath(opts.Binary); err == nil {
		p.bin = bin
	}
	return p
}

// Available reports whether the binary was found.
func (p *Pocketsphinx) Available() bool { return p.bin != "" }

// Transcribe resamples each channel to 16 kHz raw PCM in a temporary
// directory and decodes them in one run of pocketsphinx_batch, which is
// killed when ctx ends. Text comes from its hypotheses, clips and
// confidences from its CTM output (word times and posteriors).
func (p *Pocketsphinx) Transcribe(ctx context.Context, path string) (Result, error) {
	if p.bin == "" {
		return Result{}, fmt.Errorf("%w: pocketsphinx_batch (apt-get install pocketsphinx pocketsphinx-en-us)", ErrUnavailable)
	}
	chans, err := readChannels(path)
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "wasmvoice-stt-")
	if err != nil {
		return Result{}, fmt.Errorf("speech: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var ctl strings.Builder
	segs := make([][]segment, len(chans))
	for i, c := range chans {
		pcm := media.Resample(c.samples, c.rate, pocketsphinxRate)
		segs[i] = split(pcm, pocketsphinxRate)
		for n, sg := range segs[i] {
			id := fmt.Sprintf("c%ds%d", i, n)
			if err := writeRaw(filepath.Join(dir, id+".raw"), pcm[sg.from:sg.to]); err != nil {
				return Result{}, err
			}
			fmt.Fprintln(&ctl, id)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ctl"), []byte(ctl.String()), 0o600); err != nil {
		return Result{}, fmt.Errorf("speech: control file: %w", err)
	}
	args := []string{"-adcin", "yes", "-cepdir", dir, "-cepext", ".raw", "-samprate", strconv.Itoa(pocketsphinxRate),
		"-ctl", filepath.Join(dir, "ctl"), "-hyp", filepath.Join(dir, "hyp"), "-ctm", filepath.Join(dir, "ctm"),
		"-logfn", filepath.Join(dir, "log")}
	if p.model != "" {
		args = append(args, "-hmm", filepath.Join(p.model, "en-us"), "-lm", filepath.Join(p.model, "en-us.lm.bin"),
			"-dict", filepath.Join(p.model, "cmudict-en-us.dict"))
	}
	cmd := exec.CommandContext(ctx, p.bin, args...)
	out := &limitedBuffer{n: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("speech: pocketsphinx: %w", context.Cause(ctx))
		}
		return Result{}, fmt.Errorf("speech: pocketsphinx: %w: %s", err, firstNonEmpty(out.String(), logTail(filepath.Join(dir, "log"))))
	}
	texts, err := readHyp(filepath.Join(dir, "hyp"))
	if err != nil {
		return Result{}, err
	}
	words, err := readCTM(filepath.Join(dir, "ctm"))
	if err != nil {
		return Result{}, err
	}
	res := Result{Transcripts: make([]Transcript, 0, len(chans)), Clips: []Clip{}}
	for i := range chans {
		var parts []string
		var ws []word
		for n, sg := range segs[i] {
			id := fmt.Sprintf("c%ds%d", i, n)
			if texts[id] != "" {
				parts = append(parts, texts[id])
			}
			off := float64(sg.from) / pocketsphinxRate
			for _, w := range words[id] {
				w.start, w.end = w.start+off, w.end+off
				ws = append(ws, w)
			}
		}
		t := Transcript{Speaker: i, Text: strings.Join(parts, " ")}
		var sum float64
		for _, w := range ws {
			sum += w.conf
		}
		if len(ws) > 0 {
			t.Confidence = round3(sum / float64(len(ws)))
		}
		res.Transcripts = append(res.Transcripts, t)
		res.Clips = append(res.Clips, clips(i, ws)...)
	}
	return res, nil
}

// segment is samples [from, to) of a channel, decoded as one utterance.
type segment struct{ from, to int }

// Segment lengths: pocketsphinx_batch decodes each control-file entry as
// one utterance, whose search grows with its length, so a long recording
// is cut into pieces at its quietest moments.
const (
	minSegment = 15 * time.Second
	maxSegment = 25 * time.Second
)

// split cuts pcm into segments of at most maxSegment, each cut at the
// quietest 100 ms between minSegment and maxSegment from the last cut.
func split(pcm []int16, rate int) []segment {
	lo, hi := int(minSegment.Seconds())*rate, int(maxSegment.Seconds())*rate
	win := rate / 10
	var out []segment
	from := 0
	for len(pcm)-from > hi {
		best, bestEnergy := from+hi, int64(-1)
		for at := from + lo; at+win <= from+hi; at += win / 2 {
			var e int64
			for _, v := range pcm[at : at+win] {
				e += int64(v) * int64(v)
			}
			if bestEnergy < 0 || e < bestEnergy {
				best, bestEnergy = at+win/2, e
			}
		}
		out = append(out, segment{from, best})
		from = best
	}
	return append(out, segment{from, len(pcm)})
}

func writeRaw(path string, pcm []int16) error {
	b := make([]byte, 0, 2*len(pcm))
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("speech: writing audio for the recogniser: %w", err)
	}
	return nil
}

// maxOutput caps what is read back of pocketsphinx's result files.
const maxOutput = 1 << 20

func openCapped(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("speech: pocketsphinx output: %w", err)
	}
	return io.LimitReader(f, maxOutput), func() { f.Close() }, nil
}

// readHyp reads "words ... (uttid score)" lines.
func readHyp(path string) (map[string]string, error) {
	r, done, err := openCapped(path)
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		i := strings.LastIndexByte(line, '(')
		if i < 0 {
			continue
		}
		id, _, _ := strings.Cut(line[i+1:], " ")
		out[id] = cleanWords(strings.Fields(line[:i]))
	}
	return out, sc.Err()
}

type word struct {
	text       string
	start, end float64
	conf       float64
}

// readCTM reads "uttid channel start duration word confidence" lines.
func readCTM(path string) (map[string][]word, error) {
	r, done, err := openCapped(path)
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string][]word{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || isFiller(f[4]) {
			continue
		}
		start, err1 := strconv.ParseFloat(f[2], 64)
		dur, err2 := strconv.ParseFloat(f[3], 64)
		conf, err3 := strconv.ParseFloat(f[5], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out[f[0]] = append(out[f[0]], word{text: baseWord(f[4]), start: start, end: start + dur, conf: min(max(conf, 0), 1)})
	}
	return out, sc.Err()
}

// clipGap is the silence that starts a new clip.
const clipGap = 0.8

func clips(speaker int, ws []word) []Clip {
	var out []Clip
	var cur []word
	flush := func() {
		if len(cur) == 0 {
			return
		}
		texts := make([]string, len(cur))
		var sum float64
		for i, w := range cur {
			texts[i] = w.text
			sum += w.conf
		}
		out = append(out, Clip{Speaker: speaker, Text: strings.Join(texts, " "), Confidence: round3(sum / float64(len(cur))),
			Start: round3(cur[0].start), End: round3(cur[len(cur)-1].end)})
		cur = cur[:0]
	}
	for _, w := range ws {
		if len(cur) > 0 && w.start-cur[len(cur)-1].end > clipGap {
			flush()
		}
		cur = append(cur, w)
	}
	flush()
	return out
}

// isFiller reports pocketsphinx's non-words: <s>, </s>, <sil>, [NOISE].
func isFiller(w string) bool { return strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") }

// baseWord strips an alternate pronunciation's "(2)".
func baseWord(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		return w[:i]
	}
	return w
}

func cleanWords(ws []string) string {
	out := ws[:0]
	for _, w := range ws {
		if !isFiller(w) {
			out = append(out, baseWord(w))
		}
	}
	return strings.Join(out, " ")
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// logTail is the end of pocketsphinx's log, for an error message.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 1024 {
		f.Seek(st.Size()-1024, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1024))
	return strings.TrimSpace(string(b))
}
