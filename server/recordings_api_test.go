package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hajimehoshi/go-mp3"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// StartRecording fileFormat="mp3", paused and resumed through the API: the
// download is an MP3 that decodes to the recorded time, not silence; every
// recording response matches the spec's callRecordingMetadata; the account
// list filters; deleteRecordingMedia keeps the metadata.
func TestRecordingMP3PauseAndMetadata(t *testing.T) {
	testenv.LookTool(t, "lame")
	n := startNode(t)
	caller := newPhone(t, 'M', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartRecording fileFormat="mp3" recordingName="greeting" recordingAvailableUrl="/available"/><Pause duration="30"/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	dialed := time.Now() // the recording starts after this
	out := dialApp(t, n, caller, appID)
	callID := h.wait("initiate", 10*time.Second).Body["callId"].(string)
	sendTone(t, caller, 400) // into the recording
	state := func(s string) int {
		return n.call(t, "PUT", n.voice("/calls/"+callID+"/recording"), map[string]any{"state": s}, nil)
	}
	// 1 s recorded, 1.5 s paused, 1 s recorded: the file has about 2 s.
	time.Sleep(time.Second)
	if code := state("paused"); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	pausedAt := time.Now() // the recording was paused before this
	time.Sleep(1500 * time.Millisecond)
	resumeSent := time.Now() // and resumed after this
	if code := state("recording"); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	if code := state("stopped"); code/100 != 4 {
		t.Errorf("state stopped: %d, want 4xx", code)
	}
	time.Sleep(time.Second)
	if code := n.call(t, "POST", n.voice("/calls/"+callID), map[string]any{"state": "completed"}, nil); code/100 != 2 {
		t.Fatalf("hang up: %d", code)
	}
	waitDone(t, out.Done(), "call")
	ended := time.Now() // and ends before this
	avail := h.wait("recordingAvailable", 20*time.Second)
	checkSchema(t, avail)
	if avail.Body["fileFormat"] != "mp3" {
		t.Errorf("recordingAvailable fileFormat %v, want mp3", avail.Body["fileFormat"])
	}
	if code := state("paused"); code != 404 {
		t.Errorf("pause after the call: %d, want 404", code)
	}
	recID := avail.Body["recordingId"].(string)
	recPath := n.voice("/calls/" + callID + "/recordings/" + recID)

	meta := getRecording(t, n, recPath)
	if meta["fileFormat"] != "mp3" || meta["recordingName"] != "greeting" || meta["status"] != "complete" ||
		meta["channels"] != float64(1) || meta["mediaUrl"] != avail.Body["mediaUrl"] {
		t.Errorf("metadata: %v", meta)
	}
	if _, ok := meta["parentCallId"]; ok {
		t.Errorf("parentCallId %v on a call that has no parent", meta["parentCallId"])
	}

	resp := download(t, n, recPath+"/media")
	if ct := resp.Header.Get("Content-Type"); ct != "audio/mpeg" {
		t.Errorf("Content-Type %q, want audio/mpeg", ct)
	}
	dur, rms := decodeMP3(t, resp.Body)
	t.Logf("mp3: %s, RMS %.0f, metadata %v", dur, rms, meta["duration"])
	// The MP3 lasts what the metadata says (give or take the encoder's
	// padding), at least the last second recorded, and not the pause: no
	// longer than the call less the time the recording surely was paused.
	// Bounds from the test's own clock, so a slow machine does not fail it.
	var secs float64
	fmt.Sscanf(fmt.Sprint(meta["duration"]), "PT%gS", &secs)
	metaDur := time.Duration(secs * float64(time.Second))
	if d := dur - metaDur; d < -200*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("mp3 lasts %s, the metadata says %s", dur, metaDur)
	}
	if paused := resumeSent.Sub(pausedAt); dur < time.Second || dur > ended.Sub(dialed)-paused+200*time.Millisecond {
		t.Errorf("mp3 lasts %s of a call of %s with the recording paused at least %s: want the pause left out", dur, ended.Sub(dialed), paused)
	}
	if rms < 1000 {
		t.Errorf("mp3 RMS %.0f: silent, want the 400 Hz tone", rms)
	}

	// The MP3 is all that is left of the recording on disk.
	files, _ := filepath.Glob(filepath.Join(n.srv.DataDir(), "recordings", "*", callID, "*"))
	if len(files) != 1 || filepath.Base(files[0]) != recID+".mp3" {
		t.Fatalf("recording files %v, want only %s.mp3", files, recID)
	}

	// The account-wide list and its filters.
	to, from := meta["to"].(string), meta["from"].(string)
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", 1},
		{"?to=" + url.QueryEscape(to), 1},
		{"?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to), 1},
		{"?to=nobody", 0},
		{"?from=nobody", 0},
		{"?minStartTime=" + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), 1},
		{"?minStartTime=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339), 0},
		{"?maxStartTime=" + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), 0},
	} {
		var list []json.RawMessage
		if code := n.call(t, "GET", n.voice("/recordings"+c.query), nil, &list); code != 200 || len(list) != c.want {
			t.Errorf("listAccountCallRecordings%s: %d, %d recordings, want %d", c.query, code, len(list), c.want)
		}
		for _, raw := range list {
			checkRecording(t, raw)
		}
	}
	if code := n.call(t, "GET", n.voice("/recordings?minStartTime=yesterday"), nil, nil); code/100 != 4 {
		t.Errorf("a bad minStartTime: %d, want 4xx", code)
	}

	// deleteRecordingMedia: the file goes, the metadata stays.
	if code := n.call(t, "DELETE", recPath+"/media", nil, nil); code != 204 {
		t.Fatalf("deleteRecordingMedia: %d", code)
	}
	if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("media file after deleteRecordingMedia: %v", err)
	}
	meta = getRecording(t, n, recPath)
	if meta["status"] != "deleted" || meta["mediaUrl"] != nil {
		t.Errorf("metadata after deleteRecordingMedia: %v", meta)
	}
	if code := n.call(t, "GET", recPath+"/media", nil, nil); code != 404 {
		t.Errorf("download after deleteRecordingMedia: %d, want 404", code)
	}
	if code := n.call(t, "DELETE", recPath+"/media", nil, nil); code != 404 {
		t.Errorf("deleteRecordingMedia again: %d, want 404", code)
	}
	var list []json.RawMessage
	if code := n.call(t, "GET", n.voice("/calls/"+callID+"/recordings"), nil, &list); code != 200 || len(list) != 1 {
		t.Fatalf("listCallRecordings after deleteRecordingMedia: %d %d", code, len(list))
	}
	checkRecording(t, list[0])
}

// sendTone has the phone send a PCMU tone every 20 ms until the test ends.
func sendTone(t *testing.T, p *phone, hz float64) {
	testenv.Go(t, func(ctx context.Context) error {
		frame := make([]byte, 160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			for j := range frame {
				frame[j] = g711.EncodeUlaw(int16(8000 * math.Sin(2*math.Pi*hz*float64(i*160+j)/8000)))
			}
			p.send(0, false, frame, 160)
			select {
			case <-tick.C:
			case <-ctx.Done():
				return nil
			}
		}
	})
}

// getRecording reads one recording's metadata and checks it against the spec.
func getRecording(t *testing.T, n *node, path string) map[string]any {
	t.Helper()
	var raw json.RawMessage
	if code := n.call(t, "GET", path, nil, &raw); code != 200 {
		t.Fatalf("getCallRecording: %d", code)
	}
	return checkRecording(t, raw)
}

// checkRecording validates a recording's metadata against the spec's
// callRecordingMetadata and returns it decoded.
func checkRecording(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("recording metadata %s: %v", raw, err)
	}
	sc := specSchema(t, "callRecordingMetadata")
	checkBody(t, "recording metadata", sc, raw)
	checkFields(t, "recording metadata", sc, m)
	return m
}

// download GETs a recording's media with the node's client credentials.
func download(t *testing.T, n *node, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", n.api+path, nil)
	req.SetBasicAuth(n.creds.ClientID, n.creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("download %s: %d %s", path, resp.StatusCode, b)
	}
	return resp
}

// decodeMP3 decodes an MP3 stream and returns its length and its samples'
// RMS.
func decodeMP3(t *testing.T, r io.Reader) (time.Duration, float64) {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	d, err := mp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an MP3 (%d bytes): %v", len(b), err)
	}
	pcm, err := io.ReadAll(d) // 16-bit little-endian stereo at d.SampleRate()
	if err != nil {
		t.Fatalf("decoding the MP3: %v", err)
	}
	var sum float64
	n := len(pcm) / 2
	for i := 0; i+1 < len(pcm); i += 2 {
		s := float64(int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8))
		sum += s * s
	}
	frames := n / 2
	return time.Duration(frames) * time.Second / time.Duration(d.SampleRate()), math.Sqrt(sum / float64(max(n, 1)))
}

// A node with a short --recording-retention deletes a recording, media and
// metadata, once it is that old.
func TestRecordingRetention(t *testing.T) {
	// Retention counts from the recording's start: 5 s leave a loaded
	// machine room for the 1 s recording, its callback and the first read.
	n := startNode(t, func(c *Config) { c.RecordingRetention = 5 * time.Second })
	caller := newPhone(t, 'T', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Record recordingAvailableUrl="/available" maxDuration="1"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	waitDone(t, out.Done(), "call")
	avail := h.wait("recordingAvailable", 10*time.Second)
	recPath := n.voice("/calls/" + avail.Body["callId"].(string) + "/recordings/" + avail.Body["recordingId"].(string))
	getRecording(t, n, recPath) // there until it is 5 s old
	deadline := time.Now().Add(30 * time.Second)
	for n.call(t, "GET", recPath, nil, nil) != 404 {
		if time.Now().After(deadline) {
			t.Fatal("the recording outlived its retention")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var list []json.RawMessage
	if code := n.call(t, "GET", n.voice("/recordings"), nil, &list); code != 200 || len(list) != 0 {
		t.Errorf("listAccountCallRecordings after the sweep: %d, %d recordings", code, len(list))
	}
}

// A recording on a transfer leg names its parent call and what the leg was
// placed with, as the transferAnswer callback does.
func TestTransferLegRecordingMetadata(t *testing.T) {
	n := startNode(t)
	alice, bob := newPhone(t, 'A', false), newPhone(t, 'B', true)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Transfer transferCallerId="+15550001111"><SipUri transferAnswerUrl="/ta">` + bob.uri("bob") + `</SipUri></Transfer></Response>`
		case "/ta":
			return `<Response><Record recordingAvailableUrl="/available" maxDuration="1"/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, alice, appID)
	parent := h.wait("initiate", 10*time.Second).Body["callId"]
	ta := h.wait("transferAnswer", 15*time.Second)
	avail := h.wait("recordingAvailable", 15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	meta := getRecording(t, n, n.voice("/calls/"+avail.Body["callId"].(string)+"/recordings/"+avail.Body["recordingId"].(string)))
	for _, k := range []string{"callId", "transferCallerId", "transferTo"} {
		if meta[k] == nil || meta[k] != ta.Body[k] {
			t.Errorf("recording %s %v, transferAnswer has %v", k, meta[k], ta.Body[k])
		}
	}
	if meta["parentCallId"] != parent {
		t.Errorf("recording parentCallId %v, want the transferring call %v", meta["parentCallId"], parent)
	}
}
