package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// updateConference with a redirectUrl sends conferenceRedirect, whose BXML
// plays to every member; members that hang up leave (conferenceMemberExit)
// and the last one's leaving completes the conference.
func TestConferenceRedirectPlaysToAll(t *testing.T) {
	n := startNode(t)
	audio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(wav.Encode(8000, 1, testenv.Tone(8000*3, 8000, 1700, 4000, 0)))
	}))
	t.Cleanup(audio.Close)
	h := newHook(t, func(ev event) string {
		switch ev.Path {
		case "/initiate":
			return `<Response><Conference conferenceEventUrl="/conference" conferenceEventMethod="POST">lobby</Conference></Response>`
		case "/redirect":
			return `<Bxml><PlayAudio>` + audio.URL + `/tone.wav</PlayAudio></Bxml>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	a, b := newPhone(t, 'A', false), newPhone(t, 'B', false)
	outA := dialApp(t, n, a, appID)
	outB := dialApp(t, n, b, appID)
	t.Cleanup(func() { outA.Hangup(context.Background()); outB.Hangup(context.Background()) })
	h.waitCount("conferenceMemberJoin", 2, 10*time.Second)
	created := h.wait("conferenceCreated", 5*time.Second)
	checkSchema(t, created)
	confID := created.Body["conferenceId"].(string)
	if code := n.call(t, "POST", n.voice("/conferences/"+confID), map[string]any{"redirectUrl": h.url("/redirect")}, nil); code != 204 {
		t.Fatalf("updateConference redirect: %d", code)
	}
	red := h.wait("conferenceRedirect", 5*time.Second)
	checkSchema(t, red)
	if red.Path != "/redirect" || red.Body["conferenceId"] != confID || red.Body["name"] != "lobby" {
		t.Errorf("conferenceRedirect %s %v", red.Path, red.Body)
	}
	// The audio is fetched and decoded before it plays, and the tone lasts
	// 3 s: each phone listens in half-second windows until one carries it.
	type heard struct {
		p   *phone
		amp float64
	}
	done := make(chan heard, 2)
	for _, p := range []*phone{a, b} {
		testenv.Go(t, func(context.Context) error {
			var amp float64
			for range 5 {
				if amp = testenv.ToneAmplitude(p.capture(500*time.Millisecond), 8000, 1700); amp >= 1500 {
					break
				}
			}
			done <- heard{p, amp}
			return nil
		})
	}
	for range 2 {
		if h := <-done; h.amp < 1500 {
			t.Errorf("phone %c: the played tone at amplitude %.0f", h.p.marker, h.amp)
		}
	}
	if err := outA.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	exit := h.wait("conferenceMemberExit", 10*time.Second)
	checkSchema(t, exit)
	var conf map[string]any
	n.call(t, "GET", n.voice("/conferences/"+confID), nil, &conf)
	if ms, _ := conf["activeMembers"].([]any); len(ms) != 1 || conf["completedTime"] != nil {
		t.Errorf("after one left: %v", conf)
	}
	if err := outB.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wait("conferenceCompleted", 10*time.Second)
	n.call(t, "GET", n.voice("/conferences/"+confID), nil, &conf)
	if conf["completedTime"] == nil {
		t.Errorf("after the last left: %v", conf)
	}
}
