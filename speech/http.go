package speech

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/media/wav"
)

// HTTPOptions configure a recogniser reached over HTTP.
type HTTPOptions struct {
	// URL is the transcription endpoint, e.g.
	// http://127.0.0.1:8000/v1/audio/transcriptions; a URL with no path
	// gets /v1/audio/transcriptions.
	URL string
	// Model is sent as the form's model field (default "whisper-1",
	// which self-hosted servers map to their own model or ignore).
	Model string
	// Client sends the requests (default: one with a 10-minute timeout).
	Client *http.Client
}

// HTTP transcribes with a self-hosted recogniser that speaks the common
// POST /v1/audio/transcriptions form (OpenAI's API, as whisper.cpp's
// server, faster-whisper-server and others serve it): each channel of the
// recording is uploaded as a mono WAV in the multipart field "file", and the
// answer is JSON with "text" (and, when the server sends them, "segments"
// with start, end, text and avg_logprob).
type HTTP struct {
	url    string
	model  string
	client *http.Client
}

var _ Recognizer = (*HTTP)(nil)

// maxResponse caps a recogniser's answer.
const maxResponse = 4 << 20

// NewHTTP returns a recogniser that posts to opts.URL.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("speech: transcription URL %q: want http(s)://host[:port][/path]", opts.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/audio/transcriptions"
	}
	if opts.Model == "" {
		opts.Model = "whisper-1"
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	return &HTTP{url: u.String(), model: opts.Model, client: opts.Client}, nil
}

// Transcribe uploads each channel and collects the answers, one speaker
// per channel.
func (h *HTTP) Transcribe(ctx context.Context, path string) (Result, error) {
	chans, err := readChannels(path)
	if err != nil {
		return Result{}, err
	}
	res := Result{Transcripts: make([]Transcript, 0, len(chans)), Clips: []Clip{}}
	for i, c := range chans {
		a, err := h.post(ctx, c)
		if err != nil {
			return Result{}, err
		}
		t := Transcript{Speaker: i, Text: strings.TrimSpace(a.Text)}
		var sum float64
		for _, s := range a.Segments {
			conf := segmentConfidence(s.AvgLogprob)
			sum += conf
			if text := strings.TrimSpace(s.Text); text != "" {
				res.Clips = append(res.Clips, Clip{Speaker: i, Text: text, Confidence: conf, Start: round3(s.Start), End: round3(s.End)})
			}
		}
		if len(a.Segments) > 0 {
			t.Confidence = round3(sum / float64(len(a.Segments)))
		}
		res.Transcripts = append(res.Transcripts, t)
	}
	return res, nil
}

type httpAnswer struct {
	Text     string `json:"text"`
	Segments []struct {
		Start      float64  `json:"start"`
		End        float64  `json:"end"`
		Text       string   `json:"text"`
		AvgLogprob *float64 `json:"avg_logprob"`
	} `json:"segments"`
}

// segmentConfidence maps a segment's mean token log-probability to 0-1
// (0 when the server sent none).
func segmentConfidence(lp *float64) float64 {
	if lp == nil {
		return 0
	}
	return round3(min(max(math.Exp(*lp), 0), 1))
}

func (h *HTTP) post(ctx context.Context, c channel) (httpAnswer, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "recording.wav")
	if err != nil {
		return httpAnswer{}, fmt.Errorf("speech: form: %w", err)
	}
	if _, err := fw.Write(wav.Encode(c.rate, 1, c.samples)); err != nil {
		return httpAnswer{}, fmt.Errorf("speech: form: %w", err)
	}
	for k, v := range map[string]string{"model": h.model, "response_format": "json"} {
		if err := mw.WriteField(k, v); err != nil {
			return httpAnswer{}, fmt.Errorf("speech: form: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return httpAnswer{}, fmt.Errorf("speech: form: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, &body)
	if err != nil {
		return httpAnswer{}, fmt.Errorf("speech: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return httpAnswer{}, fmt.Errorf("speech: recogniser %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return httpAnswer{}, fmt.Errorf("speech: recogniser %s: reading answer: %w", h.url, err)
	}
	if resp.StatusCode/100 != 2 {
		return httpAnswer{}, fmt.Errorf("speech: recogniser %s answered %s: %.200s", h.url, resp.Status, strings.TrimSpace(string(data)))
	}
	if len(data) > maxResponse {
		return httpAnswer{}, fmt.Errorf("speech: recogniser %s: answer larger than %d bytes", h.url, maxResponse)
	}
	var a httpAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return httpAnswer{}, fmt.Errorf("speech: recogniser %s: answer is not the JSON {\"text\": ...}: %w", h.url, err)
	}
	return a, nil
}
