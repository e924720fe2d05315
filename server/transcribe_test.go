package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/speech"
)

// spoken is text spoken by espeak-ng as 8 kHz samples, in the voice the
// recogniser hears best (see speech's corpus benchmark).
func spoken(t *testing.T, text string) []int16 {
	t.Helper()
	pcm, err := media.DecodeAudio(bytes.NewReader(testenv.Espeak(t, "en-us+klatt4", text)))
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// transcriptionCallback returns the transcriptionAvailable callback that
// reached path.
func (h *hook) transcriptionCallback(path string, timeout time.Duration) event {
	h.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Type == "transcriptionAvailable" && ev.Path == path {
				h.mu.Unlock()
				return ev
			}
		}
		h.mu.Unlock()
	}
	h.t.Fatalf("no transcriptionAvailable callback to %s within %s; got %v", path, timeout, h.types())
	return event{}
}

// The caller speaks into <Record transcribe="true">; pocketsphinx
// transcribes the recording, the transcriptionAvailable callback carries
// the spoken words, and the recording's metadata and the transcription
// routes show it; transcribeCallRecording runs it again after the call,
// deleteRecordingTranscription removes it.
func TestRecordTranscribeEndToEnd(t *testing.T) {
	testenv.LookTool(t, "pocketsphinx_batch")
	words := []string{"one", "two", "three", "four", "five"}
	pcm := spoken(t, strings.Join(words, " "))
	n := startNode(t)
	caller := newPhone(t, 'S', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Record maxDuration="5" transcribe="true" transcriptionAvailableUrl="/transcribed" tag="voicemail"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	speak(t, caller, pcm, 4000, 8000*5)
	waitDone(t, out.Done(), "call")
	ev := h.transcriptionCallback("/transcribed", 90*time.Second)
	checkSchema(t, ev)
	tr, _ := ev.Body["transcription"].(map[string]any)
	text, _ := tr["text"].(string)
	t.Logf("the caller said %q; the recogniser heard %q", strings.Join(words, " "), text)
	heard := 0
	for _, w := range words {
		if strings.Contains(" "+text+" ", " "+w+" ") {
			heard++
		}
	}
	if heard < 3 {
		t.Fatalf("transcription %q has %d of the spoken words %v, want at least 3", text, heard, words)
	}
	if ev.Body["tag"] != "voicemail" || ev.Body["fileFormat"] != "wav" || ev.Body["recordingId"] == "" {
		t.Errorf("transcriptionAvailable %v", ev.Body)
	}
	callID, recID := ev.Body["callId"].(string), ev.Body["recordingId"].(string)
	path := n.voice("/calls/" + callID + "/recordings/" + recID)

	var meta map[string]any
	if code := n.call(t, "GET", path, nil, &meta); code != 200 {
		t.Fatalf("getCallRecording: %d", code)
	}
	tm, _ := meta["transcription"].(map[string]any)
	if tm["status"] != "available" || !strings.HasSuffix(tm["url"].(string), path+"/transcription") || tm["completedTime"] == nil {
		t.Fatalf("recording metadata transcription: %v", meta["transcription"])
	}
	var got struct {
		Transcripts []struct {
			Speaker int
			Text    string
		}
		Clips []struct {
			Text                             string
			StartTimeSeconds, EndTimeSeconds float64
		}
	}
	if code := n.call(t, "GET", path+"/transcription", nil, &got); code != 200 || len(got.Transcripts) != 1 || got.Transcripts[0].Text != text || len(got.Clips) == 0 {
		t.Fatalf("getRecordingTranscription: %d %+v", code, got)
	}

	if code := n.call(t, "POST", path+"/transcription", map[string]any{"callbackUrl": h.url("/again"), "tag": "again"}, nil); code != 204 {
		t.Fatalf("transcribeCallRecording: %d", code)
	}
	again := h.transcriptionCallback("/again", 90*time.Second)
	checkSchema(t, again)
	if again.Body["tag"] != "again" || again.Body["callId"] != callID {
		t.Errorf("second transcriptionAvailable %v", again.Body)
	}

	if code := n.call(t, "DELETE", path+"/transcription", nil, nil); code != 204 {
		t.Fatalf("deleteRecordingTranscription: %d", code)
	}
	if code := n.call(t, "GET", path+"/transcription", nil, nil); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
	if code := n.call(t, "DELETE", path+"/transcription", nil, nil); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
	if code := n.call(t, "POST", n.voice("/calls/"+callID+"/recordings/r-none/transcription"), map[string]any{}, nil); code != 404 {
		t.Fatalf("transcribe an unknown recording: %d", code)
	}
}

// --transcription-url picks the HTTP recogniser; one that is not an
// http(s) URL stops the node from starting, naming the flag.
func TestTranscriptionURLConfig(t *testing.T) {
	s := &Server{log: testLogger(t)}
	r, err := TranscriptionConfig{URL: "http://127.0.0.1:9/v1/audio/transcriptions"}.recognizer(s)
	if _, ok := r.(*speech.HTTP); err != nil || !ok {
		t.Fatalf("recognizer %T, %v", r, err)
	}
	if r, err := (TranscriptionConfig{}).recognizer(s); err != nil {
		t.Fatal(err)
	} else if _, ok := r.(*speech.Pocketsphinx); !ok {
		t.Fatalf("default recognizer %T", r)
	}
	_, err = New(context.Background(), Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", SIPDomain: "127.0.0.1",
		Region: "US", MediaIP: "127.0.0.1", RTPPorts: rtpRange(), Logger: testLogger(t), Transcription: TranscriptionConfig{URL: "ftp://x"}})
	if err == nil || !strings.Contains(err.Error(), "--transcription-url") {
		t.Fatalf("New with a bad --transcription-url: %v", err)
	}
}
