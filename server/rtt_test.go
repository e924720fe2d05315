package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// speak makes the phone say pcm (8 kHz) as PCMU in real time, after lead
// and before tail samples of silence, until the test ends.
func speak(t *testing.T, p *phone, pcm []int16, lead, tail int) {
	audio := append(append(make([]int16, lead), pcm...), make([]int16, tail)...)
	testenv.Go(t, func(ctx context.Context) error {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i+160 <= len(audio); i += 160 {
			select {
			case <-tick.C:
				p.send(0, false, g711.EncodeUlawBuf(nil, audio[i:i+160]), 160)
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	})
}

// countWords is how many of words appear in text.
func countWords(text string, words []string) int {
	n := 0
	for _, w := range words {
		if strings.Contains(" "+strings.ToLower(text)+" ", " "+w+" ") {
			n++
		}
	}
	return n
}

// The caller speaks (espeak-ng) during <StartTranscription>: the
// destination WebSocket gets start (metadata, customParams), transcription
// messages whose text has the spoken words, and stop; the
// realTimeTranscription callbacks arrive; the transcription routes list,
// read and delete what was said.
func TestRealTimeTranscriptionEndToEnd(t *testing.T) {
	testenv.LookTool(t, "pocketsphinx_batch")
	words := []string{"one", "two", "three", "four", "five"}
	pcm := spoken(t, strings.Join(words, " "))
	ag := newAgent(t, nil)
	n := startNode(t)
	caller := newPhone(t, 'R', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartTranscription name="live" destination="` + ag.url() + `" transcriptionEventUrl="/rtt">` +
				`<CustomParam name="ticket" value="T-7"/></StartTranscription>` +
				`<Pause duration="7"/><StopTranscription name="live"/><Pause duration="1"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	speak(t, caller, pcm, 8000, 8000*10)
	started := h.wait("realTimeTranscriptionStarted", 15*time.Second)
	waitDone(t, out.Done(), "call")
	stopped := h.wait("realTimeTranscriptionStopped", 90*time.Second)
	avail := h.wait("realTimeTranscriptionAvailable", 15*time.Second)

	rt, _ := started.Body["realTimeTranscription"].(map[string]any)
	id, _ := rt["id"].(string)
	if rt["name"] != "live" || !strings.HasPrefix(id, "t-") || started.Path != "/rtt" {
		t.Errorf("realTimeTranscriptionStarted %v", started.Body)
	}
	if stopped.Body["cause"] != "closed" {
		t.Errorf("realTimeTranscriptionStopped %v", stopped.Body)
	}
	art, _ := avail.Body["realTimeTranscription"].(map[string]any)
	callID, _ := avail.Body["callId"].(string)
	path := n.voice("/calls/" + callID + "/transcriptions/" + id)
	if art["status"] != "available" || !strings.HasSuffix(art["url"].(string), path) {
		t.Errorf("realTimeTranscriptionAvailable %v", avail.Body)
	}

	// The stop message is the destination's last; the callbacks come after.
	for deadline := time.Now().Add(10 * time.Second); len(ag.messages("stop")) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no stop message at the destination")
		}
	}
	starts := ag.messages("start")
	if len(starts) != 1 {
		t.Fatalf("%d start messages", len(starts))
	}
	md := starts[0]["metadata"].(map[string]any)
	if md["realtimeTranscriptionId"] != id || md["transcriptionName"] != "live" || md["callId"] != callID {
		t.Errorf("start metadata %v", md)
	}
	if starts[0]["customParams"].(map[string]any)["ticket"] != "T-7" {
		t.Errorf("customParams %v", starts[0]["customParams"])
	}
	var heard []string
	for _, m := range ag.messages("transcription") {
		if m["track"] != "inbound" || m["isPartial"] != false || m["startTime"] == "" {
			t.Errorf("transcription message %v", m)
		}
		heard = append(heard, m["transcript"].(string))
	}
	text := strings.Join(heard, " ")
	t.Logf("the caller said %q; the transcription messages say %q", strings.Join(words, " "), text)
	if countWords(text, words) < 3 {
		for _, l := range n.callLog(t, callID) {
			t.Logf("call log: %s %s %s", l.Level, l.Source, l.Message)
		}
		t.Fatalf("transcription messages %q have fewer than 3 of the spoken words %v", text, words)
	}

	var list []map[string]any
	if code := n.call(t, "GET", n.voice("/calls/"+callID+"/transcriptions"), nil, &list); code != 200 || len(list) != 1 || list[0]["transcriptionId"] != id {
		t.Fatalf("listRealTimeTranscriptions: %d %v", code, list)
	}
	var got struct {
		TranscriptionID string
		Tracks          []struct{ Track, Transcript string }
	}
	if code := n.call(t, "GET", path, nil, &got); code != 200 || got.TranscriptionID != id || len(got.Tracks) != 1 ||
		got.Tracks[0].Track != "inbound" || got.Tracks[0].Transcript != text {
		t.Fatalf("getRealTimeTranscription: %d %+v", code, got)
	}
	if code := n.call(t, "DELETE", path, nil, nil); code != 200 {
		t.Fatalf("deleteRealTimeTranscription: %d", code)
	}
	if code := n.call(t, "GET", path, nil, nil); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}

// With stabilized="false", an utterance still being spoken is transcribed
// every 2 s and sent with isPartial: true; the final results still come.
func TestRealTimeTranscriptionPartials(t *testing.T) {
	testenv.LookTool(t, "pocketsphinx_batch")
	words := []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	pcm := spoken(t, strings.Join(words, " "))
	ag := newAgent(t, nil)
	n := startNode(t)
	caller := newPhone(t, 'P', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartTranscription destination="` + ag.url() + `" stabilized="false" transcriptionEventUrl="/rtt"/>` +
				`<Pause duration="9"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	speak(t, caller, pcm, 8000, 8000*10)
	waitDone(t, out.Done(), "call")
	h.wait("realTimeTranscriptionAvailable", 90*time.Second)
	var partial, final []string
	for _, m := range ag.messages("transcription") {
		if m["isPartial"] == true {
			partial = append(partial, m["transcript"].(string))
		} else {
			final = append(final, m["transcript"].(string))
		}
	}
	t.Logf("partial results %q, final %q", partial, final)
	if len(partial) == 0 {
		t.Error("no partial result")
	}
	if countWords(strings.Join(final, " "), words) < 5 {
		t.Errorf("final results %q have fewer than 5 of the spoken words", final)
	}
}
