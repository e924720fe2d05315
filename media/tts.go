package media

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"
)

// MaxSpeakRunes bounds the text of one Speak call.
const MaxSpeakRunes = 8000

// Voice holds the BXML SpeakSentence voice attributes.
type Voice struct {
	Name   string // BXML voice, e.g. "julie"
	Gender string // "female" or "male"
	Locale string // e.g. "en_US"
}

// The mapping from BXML voice attributes to espeak-ng voices. A known voice
// name decides locale and gender (as Bandwidth documents: voice wins); else
// locale and gender are used; the default is en_US female.
//
//	BXML voice                     locale   gender  espeak-ng
//	susan, julie                   en_US    female  en-us+f3
//	dave, paul                     en_US    male    en-us+m3
//	kate, bridget                  en_UK    female  en-gb+f3
//	simon                          en_UK    male    en-gb+m3
//	esperanza, violeta             es_MX    female  es-419+f3
//	jorge                          es_MX    male    es-419+m3
//	jolie                          fr_FR    female  fr-fr+f3
//	bernard                        fr_FR    male    fr-fr+m3
//	katrin                         de_DE    female  de+f3
//	stefan                         de_DE    male    de+m3
//	paola                          it_IT    female  it+f3
//	luca                           it_IT    male    it+m3
//
//	locale          espeak-ng      locale   espeak-ng
//	en_US           en-us          fr_FR    fr-fr
//	en_UK, en_GB    en-gb          fr_CA    fr-fr (no Canadian French)
//	en_AU           en-gb          de_DE    de
//	es_MX, es_US    es-419         it_IT    it
//	es_ES           es             pt_BR    pt-br
//	nl_NL           nl             pt_PT    pt
//	ja_JP           ja             ru_RU    ru
//	zh_CN           cmn            ko_KR    ko
//	hi_IN           hi
//
// gender "male" selects the +m3 variant, anything else +f3. An unknown
// locale falls back to the language part (e.g. "sv_SE" -> "sv"), which
// espeak-ng resolves or rejects (then Speak fails with its message).
var (
	bxmlVoices = map[string]Voice{
		"susan": {Locale: "en_US", Gender: "female"}, "julie": {Locale: "en_US", Gender: "female"},
		"dave": {Locale: "en_US", Gender: "male"}, "paul": {Locale: "en_US", Gender: "male"},
		"kate": {Locale: "en_UK", Gender: "female"}, "bridget": {Locale: "en_UK", Gender: "female"},
		"simon":     {Locale: "en_UK", Gender: "male"},
		"esperanza": {Locale: "es_MX", Gender: "female"}, "violeta": {Locale: "es_MX", Gender: "female"},
		"jorge": {Locale: "es_MX", Gender: "male"},
		"jolie": {Locale: "fr_FR", Gender: "female"}, "bernard": {Locale: "fr_FR", Gender: "male"},
		"katrin": {Locale: "de_DE", Gender: "female"}, "stefan": {Locale: "de_DE", Gender: "male"},
		"paola": {Locale: "it_IT", Gender: "female"}, "luca": {Locale: "it_IT", Gender: "male"},
	}
	espeakLocales = map[string]string{
		"en_us": "en-us", "en_uk": "en-gb", "en_gb": "en-gb", "en_au": "en-gb",
		"es_mx": "es-419", "es_us": "es-419", "es_es": "es",
		"fr_fr": "fr-fr", "fr_ca": "fr-fr", "de_de": "de", "it_it": "it",
		"pt_br": "pt-br", "pt_pt": "pt", "nl_nl": "nl", "ja_jp": "ja",
		"ru_ru": "ru", "zh_cn": "cmn", "ko_kr": "ko", "hi_in": "hi",
	}
)

// Espeak returns the espeak-ng voice (-v argument) for the BXML attributes.
func (v Voice) Espeak() string {
	if known, ok := bxmlVoices[strings.ToLower(strings.TrimSpace(v.Name))]; ok {
		v.Locale, v.Gender = known.Locale, known.Gender
	}
	loc := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v.Locale), "-", "_"))
	lang, ok := espeakLocales[loc]
	if !ok {
		lang = "en-us"
		if l, _, _ := strings.Cut(loc, "_"); l != "" && isAlpha(l) {
			lang = l
		}
	}
	variant := "+f3"
	if strings.EqualFold(strings.TrimSpace(v.Gender), "male") {
		variant = "+m3"
	}
	return lang + variant
}

func isAlpha(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return len(s) <= 8
}

// TTSOptions configure a TTS engine.
type TTSOptions struct {
	Binary       string // default "espeak-ng", looked up on PATH
	CacheEntries int    // default 256
	CacheBytes   int    // default 32 MiB
	MaxSynth     int    // espeak-ng runs at once; default 4
	Logger       *slog.Logger
}

// TTS synthesizes speech with the espeak-ng binary and caches the 8 kHz
// result by text and voice (LRU, bounded by entries and bytes).
type TTS struct {
	bin    string
	log    *slog.Logger
	flight singleflight.Group // one run per utterance wanted at once
	runs   chan struct{}      // a token per espeak-ng run going

	mu       sync.Mutex
	lru      *list.List // of *ttsEntry, front = most recent
	byKey    map[string]*list.Element
	bytes    int
	maxEnt   int
	maxBytes int
}

type ttsEntry struct {
	key string
	pcm []int16
}

// TTSAvailable reports whether espeak-ng is on PATH.
func TTSAvailable() bool {
	_, err := exec.LookPath("espeak-ng")
	return err == nil
}

// NewTTS returns a TTS engine; it is usable even when the binary is
// missing (Synthesize then returns ErrTTSUnavailable).
func NewTTS(opts TTSOptions) *TTS {
	if opts.Binary == "" {
		opts.Binary = "espeak-ng"
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 256
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 32 << 20
	}
	if opts.MaxSynth <= 0 {
		opts.MaxSynth = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	t := &TTS{log: opts.Logger, runs: make(chan struct{}, opts.MaxSynth), lru: list.New(), byKey: map[string]*list.Element{}, maxEnt: opts.CacheEntries, maxBytes: opts.CacheBytes}
	if p, err := exec.LookPath(opts.Binary); err == nil {
		t.bin = p
	}
	return t
}

// Available reports whether this engine found its binary.
func (t *TTS) Available() bool { return t.bin != "" }

// Synthesize returns text spoken with voice v as 8 kHz mono samples. Text
// that looks like SSML is cleaned (see CleanSSML) and passed with -m.
//
// Calls that want the same utterance at once share one espeak-ng run
// (the first calls of a burst all miss the cache: each starting its own
// process stalled a node for seconds), and at most MaxSynth runs go at a
// time, so text unique per call cannot fork without bound.
func (t *TTS) Synthesize(ctx context.Context, text string, v Voice) ([]int16, error) {
	if t.bin == "" {
		return nil, ErrTTSUnavailable
	}
	if utf8.RuneCountInString(text) > MaxSpeakRunes {
		return nil, fmt.Errorf("media: speak text longer than %d characters", MaxSpeakRunes)
	}
	voice := v.Espeak()
	ssml := LooksLikeSSML(text)
	if ssml {
		text = CleanSSML(text)
	}
	key := voice + "\x00" + fmt.Sprint(ssml) + "\x00" + text
	if pcm, ok := t.get(key); ok {
		return pcm, nil
	}
	// The run is shared, so no one caller's context may cancel it: it has
	// its own deadline, and each caller stops waiting when its own ends.
	ch := t.flight.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), synthTimeout)
		defer cancel()
		return t.synthesize(ctx, key, text, voice, ssml)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]int16), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// synthTimeout bounds one espeak-ng run; an utterance of MaxSpeakRunes
// takes well under a second.
const synthTimeout = 30 * time.Second

func (t *TTS) synthesize(ctx context.Context, key, text, voice string, ssml bool) ([]int16, error) {
	select {
	case t.runs <- struct{}{}:
		defer func() { <-t.runs }()
	case <-ctx.Done():
		return nil, fmt.Errorf("media: espeak-ng: waiting for a free run: %w", ctx.Err())
	}
	args := []string{"--stdout", "-v", voice}
	if ssml {
		args = append(args, "-m")
	}
	cmd := exec.CommandContext(ctx, t.bin, args...)
	// Text goes through stdin so nothing in it can be read as an option.
	cmd.Stdin = strings.NewReader(text)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("media: espeak-ng -v %s: %w", voice, ctx.Err())
		}
		return nil, fmt.Errorf("media: espeak-ng -v %s: %w: %s", voice, err, strings.TrimSpace(stderr.String()))
	}
	pcm, err := DecodeAudio(&out)
	if err != nil {
		return nil, fmt.Errorf("media: decoding espeak-ng output: %w", err)
	}
	if len(pcm) == 0 {
		return nil, errors.New("media: espeak-ng produced no audio")
	}
	t.put(key, pcm)
	return pcm, nil
}

func (t *TTS) get(key string) ([]int16, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[key]; ok {
		t.lru.MoveToFront(e)
		return e.Value.(*ttsEntry).pcm, true
	}
	return nil, false
}

func (t *TTS) put(key string, pcm []int16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	size := len(pcm) * 2
	if size > t.maxBytes {
		return
	}
	if _, ok := t.byKey[key]; ok {
		return
	}
	t.byKey[key] = t.lru.PushFront(&ttsEntry{key: key, pcm: pcm})
	t.bytes += size
	for t.lru.Len() > t.maxEnt || t.bytes > t.maxBytes {
		e := t.lru.Back()
		ent := e.Value.(*ttsEntry)
		t.lru.Remove(e)
		delete(t.byKey, ent.key)
		t.bytes -= len(ent.pcm) * 2
	}
}

// CacheLen returns the number of cached utterances.
func (t *TTS) CacheLen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

// Speak synthesizes text (plain or SSML) with the manager's TTS and plays
// it. Without espeak-ng it returns ErrTTSUnavailable, never silence.
func (l *Leg) Speak(ctx context.Context, text string, v Voice, opts PlayOptions) error {
	pcm, err := l.s.m.tts.Synthesize(ctx, text, v)
	if err != nil {
		return err
	}
	return l.PlayPCM(ctx, pcm, opts)
}
