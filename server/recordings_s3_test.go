package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// With --recording-storage naming an S3 bucket (versitygw, a real
// S3-compatible server), a finished recording is in the bucket and not on
// the node's disk; a node started afresh on the same database serves it
// (so a node that dies loses none that were finished); transcription reads
// it from the bucket; deleteRecording removes the object.
func TestRecordingsInS3(t *testing.T) {
	s3 := testenv.StartS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	// A recogniser over HTTP that answers with the size of the audio it got,
	// so the test sees that the recording reached it from the bucket.
	var sttGot = make(chan int, 4)
	stt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				b, _ := io.ReadAll(p)
				sttGot <- len(b)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"text": "hello from the bucket"})
	}))
	defer stt.Close()

	dataDir, dbURL := t.TempDir(), ""
	cfg := func(c *Config) { // both nodes on one database (and data directory)
		if dbURL == "" {
			dbURL = c.DatabaseURL
		} else {
			c.DatabaseURL = dbURL
		}
		c.DataDir, c.RecordingStorage = dataDir, s3.URL("node-a")
		c.Transcription = TranscriptionConfig{URL: stt.URL}
	}
	n := startNode(t, cfg)
	caller := newPhone(t, 'B', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Record recordingAvailableUrl="/available" maxDuration="1" transcribe="true" transcriptionAvailableUrl="/transcribed"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	sendTone(t, caller, 600) // into the recording
	waitDone(t, out.Done(), "call")
	avail := h.wait("recordingAvailable", 10*time.Second)
	callID, recID := avail.Body["callId"].(string), avail.Body["recordingId"].(string)
	recPath := n.voice("/calls/" + callID + "/recordings/" + recID)
	object := filepath.Join(s3.Root, s3.Bucket, "node-a", "recordings", n.creds.AccountID, callID, recID+".wav")
	inBucket, err := os.ReadFile(object)
	if err != nil {
		t.Fatalf("the recording is not in the bucket: %v", err)
	}
	if len(inBucket) < 8000 { // about a second of 16-bit audio, and the header
		t.Fatalf("the object has %d bytes", len(inBucket))
	}
	if local, _ := filepath.Glob(filepath.Join(dataDir, "recordings", "*", "*", "*")); len(local) != 0 {
		t.Errorf("uploaded recordings stay on the node's disk: %v", local)
	}
	got, _ := io.ReadAll(download(t, n, recPath+"/media").Body)
	if !bytes.Equal(got, inBucket) {
		t.Fatalf("download: %d bytes, the bucket has %d", len(got), len(inBucket))
	}
	select {
	case size := <-sttGot:
		if size < len(inBucket)-1000 {
			t.Errorf("the recogniser got %d bytes of a %d-byte recording", size, len(inBucket))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the recording never reached the recogniser")
	}
	tr := h.transcriptionCallback("/transcribed", 30*time.Second)
	if text, _ := tr.Body["transcription"].(map[string]any)["text"].(string); !strings.Contains(text, "bucket") {
		t.Errorf("transcriptionAvailable %v", tr.Body)
	}

	// The node goes; a new one on the same database serves the recording
	// from the bucket.
	n.stop(t)
	n2 := startNodeOf(t, n.creds.AccountID, cfg)
	got, _ = io.ReadAll(download(t, n2, recPath+"/media").Body)
	if !bytes.Equal(got, inBucket) {
		t.Fatalf("download from the second node: %d bytes", len(got))
	}
	if code := n2.call(t, "DELETE", recPath, nil, nil); code != 204 {
		t.Fatalf("deleteRecording: %d", code)
	}
	if _, err := os.Stat(object); !os.IsNotExist(err) {
		t.Fatalf("deleteRecording left the object: %v", err)
	}
}
