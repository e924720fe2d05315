package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// maxCapture bounds what a phone keeps while capturing (30 s at 8 kHz).
const maxCapture = 30 * 8000

func decodeG711(dst []int16, pt uint8, payload []byte) []int16 {
	if pt == 8 {
		return g711.DecodeAlawBuf(dst, payload)
	}
	return g711.DecodeUlawBuf(dst, payload)
}

// capture returns what the phone receives over d.
func (p *phone) capture(d time.Duration) []int16 {
	p.mu.Lock()
	p.capturing, p.pcm = true, nil
	p.mu.Unlock()
	time.Sleep(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.capturing = false
	return p.pcm
}

// sing sends a sine of hz in the phone's law, 20 ms per packet, until ctx
// ends.
func (p *phone) sing(ctx context.Context, hz float64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		pcm := testenv.Tone(160, 8000, hz, 4000, i*160)
		payload := g711.EncodeUlawBuf(nil, pcm)
		if p.law == 8 {
			payload = g711.EncodeAlawBuf(nil, pcm)
		}
		p.send(p.law, i == 0, payload, 160)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// tones of the three conference phones.
var confTones = map[byte]float64{'A': 500, 'B': 900, 'C': 1300}

// heardWrong says which of the phones' tones pcm carries that it should
// not, or lacks that it should ("" when it is as wanted).
func heardWrong(pcm []int16, want ...byte) string {
	if len(pcm) < 8000/2 {
		return fmt.Sprintf("only %d samples received", len(pcm))
	}
	var wrong []string
	for m, hz := range confTones {
		amp := testenv.ToneAmplitude(pcm, 8000, hz)
		heard := strings.IndexByte(string(want), m) >= 0
		// A tone sent at 4000 arrives at about that amplitude; one not
		// mixed in stays at the level of G.711 noise.
		if heard && amp < 1500 || !heard && amp > 200 {
			wrong = append(wrong, fmt.Sprintf("tone of %c at amplitude %.0f, want heard=%v", m, amp, heard))
		}
	}
	return strings.Join(wrong, "; ")
}

// Three SIP phones (two μ-law, one A-law) join one conference through
// their webhook's <Conference>, each singing its own tone. Each hears the
// other two and not itself; the conference API then mutes one (not heard),
// holds one (hears nothing), makes one a coach (heard only by the coached
// member), records the mix (all voices in the WAV) and completes the
// conference (every member leaves and runs the rest of its BXML).
func TestConferenceThreePhones(t *testing.T) {
	n := startNode(t)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Conference conferenceEventUrl="/conference" tag="room-tag">standup</Conference><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	phones := map[byte]*phone{}
	callIDs := map[byte]string{}
	for _, m := range []byte("ABC") {
		p := newPhone(t, m, false)
		if m == 'B' {
			p.law = 8
		}
		phones[m] = p
		out := dialApp(t, n, p, appID)
		t.Cleanup(func() { out.Hangup(context.Background()) })
		testenv.Go(t, func(ctx context.Context) error { return p.sing(ctx, confTones[m]) })
		joins := h.waitCount("conferenceMemberJoin", len(callIDs)+1, 10*time.Second)
		join := joins[len(joins)-1]
		callIDs[m] = join.Body["callId"].(string)
		checkSchema(t, join)
		if join.Body["name"] != "standup" || join.Body["tag"] != "room-tag" || join.Path != "/conference" {
			t.Errorf("conferenceMemberJoin %s %v", join.Path, join.Body)
		}
	}
	var conf map[string]any
	if code := n.call(t, "GET", n.voice("/conferences?name=standup"), nil, &[]any{}); code != 200 {
		t.Fatalf("listConferences: %d", code)
	}
	var list []map[string]any
	n.call(t, "GET", n.voice("/conferences?name=standup"), nil, &list)
	if len(list) != 1 {
		t.Fatalf("listConferences: %v", list)
	}
	confID := list[0]["id"].(string)
	if code := n.call(t, "GET", n.voice("/conferences/"+confID), nil, &conf); code != 200 {
		t.Fatalf("getConference: %d", code)
	}
	if ms, _ := conf["activeMembers"].([]any); len(ms) != 3 || conf["tag"] != "room-tag" || conf["completedTime"] != nil {
		t.Fatalf("getConference: %v", conf)
	}
	member := func(m byte, body map[string]any) {
		t.Helper()
		if code := n.call(t, "PUT", n.voice("/conferences/"+confID+"/members/"+callIDs[m]), body, nil); code != 204 {
			t.Fatalf("updateConferenceMember %c %v: %d", m, body, code)
		}
	}
	// listen captures a second of every phone's audio until each hears the
	// tones it should (a change takes effect within a tick, but packets
	// mixed before it may still be on their way), for up to five seconds.
	listen := func(phase string, want map[byte]string) {
		t.Helper()
		type capture struct {
			m   byte
			pcm []int16
		}
		var wrong []string
		for range 5 {
			wrong = wrong[:0]
			done := make(chan capture, len(phones))
			for m, p := range phones {
				testenv.Go(t, func(context.Context) error { done <- capture{m, p.capture(time.Second)}; return nil })
			}
			for range phones {
				c := <-done
				if w := heardWrong(c.pcm, []byte(want[c.m])...); w != "" {
					wrong = append(wrong, phase+": "+string(c.m)+": "+w)
				}
			}
			if len(wrong) == 0 {
				return
			}
		}
		for _, w := range wrong {
			t.Error(w)
		}
	}
	listen("all in", map[byte]string{'A': "BC", 'B': "AC", 'C': "AB"})

	if code := n.putXML(t, n.voice("/conferences/"+confID+"/bxml"), `<Bxml><StartRecording/></Bxml>`); code != 204 {
		t.Fatalf("updateConferenceBxml StartRecording: %d", code)
	}
	member('B', map[string]any{"mute": true})
	listen("B muted", map[byte]string{'A': "C", 'B': "AC", 'C': "A"})
	member('B', map[string]any{"mute": false})
	member('C', map[string]any{"hold": true})
	listen("C held", map[byte]string{'A': "B", 'B': "A", 'C': ""})
	member('C', map[string]any{"hold": false, "callIdsToCoach": []string{callIDs['A']}})
	listen("C coaches A", map[byte]string{'A': "BC", 'B': "A", 'C': "AB"})
	var m map[string]any
	if code := n.call(t, "GET", n.voice("/conferences/"+confID+"/members/"+callIDs['C']), nil, &m); code != 200 {
		t.Fatalf("getConferenceMember: %d", code)
	}
	if coach, _ := m["callIdsToCoach"].([]any); len(coach) != 1 || coach[0] != callIDs['A'] || m["hold"] != false || m["mute"] != false {
		t.Errorf("getConferenceMember: %v", m)
	}
	checkBody(t, "conferenceMember", specSchema(t, "conferenceMember"), mustJSON(t, m))

	if code := n.putXML(t, n.voice("/conferences/"+confID+"/bxml"), `<Bxml><StopRecording/></Bxml>`); code != 204 {
		t.Fatalf("updateConferenceBxml StopRecording: %d", code)
	}
	avail := h.wait("conferenceRecordingAvailable", 10*time.Second)
	checkSchema(t, avail)
	recID, _ := avail.Body["recordingId"].(string)
	if recID == "" || avail.Body["conferenceId"] != confID || avail.Body["fileFormat"] != "wav" || avail.Body["status"] != "complete" {
		t.Fatalf("conferenceRecordingAvailable: %v", avail.Body)
	}
	var recs []map[string]any
	if code := n.call(t, "GET", n.voice("/conferences/"+confID+"/recordings"), nil, &recs); code != 200 || len(recs) != 1 || recs[0]["recordingId"] != recID {
		t.Fatalf("listConferenceRecordings: %d %v", code, recs)
	}
	checkBody(t, "conferenceRecordingMetadata", specSchema(t, "conferenceRecordingMetadata"), mustJSON(t, recs[0]))
	req, _ := http.NewRequest("GET", n.api+n.voice("/conferences/"+confID+"/recordings/"+recID+"/media"), nil)
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/vnd.wave" {
		t.Fatalf("downloadConferenceRecording: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	a, err := wav.Decode(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	// Over the recording every phone was heard at some point: B was muted
	// a third of the time, C held a third and a coach the last third.
	for mk, hz := range confTones {
		if amp := testenv.ToneAmplitude(a.Samples, 8000, hz); amp < 300 {
			t.Errorf("recording: tone of %c at amplitude %.0f", mk, amp)
		}
	}

	if code := n.call(t, "POST", n.voice("/conferences/"+confID), map[string]any{"status": "completed"}, nil); code != 204 {
		t.Fatalf("updateConference completed: %d", code)
	}
	completed := h.wait("conferenceCompleted", 10*time.Second)
	checkSchema(t, completed)
	h.waitCount("disconnect", 3, 10*time.Second) // each member ran its <Hangup/>
	if exits := h.waitCount("conferenceMemberExit", 3, 10*time.Second); exits[2].Body["conferenceId"] != confID {
		t.Errorf("conferenceMemberExit: %v", exits[2].Body)
	}
	// Every member's exit went before the conference's completion.
	types := h.types()
	if i := strings.Index(strings.Join(types, ","), "conferenceCompleted"); i < strings.LastIndex(strings.Join(types, ","), "conferenceMemberExit") {
		t.Errorf("callbacks out of order: %v", types)
	}
	n.call(t, "GET", n.voice("/conferences/"+confID), nil, &conf)
	if ms, _ := conf["activeMembers"].([]any); len(ms) != 0 || conf["completedTime"] == nil {
		t.Errorf("getConference after completion: %v", conf)
	}
	checkBody(t, "conference", specSchema(t, "conference"), mustJSON(t, conf))
	if code := n.call(t, "POST", n.voice("/conferences/"+confID), map[string]any{"status": "completed"}, nil); code != 404 {
		t.Errorf("completing a completed conference: %d, want 404", code)
	}
}

// putXML PUTs a BXML document with the node's token.
func (n *node) putXML(t *testing.T, path, doc string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", n.api+path, strings.NewReader(doc))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+n.token)
	return doJSON(t, req, nil)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitCount returns the first n callbacks of the given type once they all
// arrived, or fails the test.
func (h *hook) waitCount(eventType string, n int, timeout time.Duration) []event {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out []event
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Type == eventType {
				out = append(out, ev)
			}
		}
		h.mu.Unlock()
		if len(out) >= n {
			return out[:n]
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d %s callbacks within %s, want %d; got %v", len(out), eventType, timeout, n, h.types())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
