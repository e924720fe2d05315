package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// agent is a Go WebSocket server standing in for a voice AI agent: it keeps
// every message a stream sends and, when onStart is set, answers the start
// message (e.g. with playAudio).
type agent struct {
	*httptest.Server
	mu      sync.Mutex
	msgs    []map[string]any
	conns   []*websocket.Conn
	auth    string
	onStart func(ctx context.Context, c *websocket.Conn)
}

func newAgent(t *testing.T, onStart func(ctx context.Context, c *websocket.Conn)) *agent {
	a := &agent{onStart: onStart}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		a.mu.Lock()
		a.conns = append(a.conns, c)
		a.auth = r.Header.Get("Authorization")
		a.mu.Unlock()
		for {
			_, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("stream message is not JSON: %v", err)
				return
			}
			a.mu.Lock()
			a.msgs = append(a.msgs, m)
			a.mu.Unlock()
			if m["eventType"] == "start" && a.onStart != nil {
				go a.onStart(r.Context(), c)
			}
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *agent) url() string { return "ws" + strings.TrimPrefix(a.URL, "http") }

// kill drops the agent's connections without a close handshake and stops
// listening, as a crashed server would.
func (a *agent) kill() {
	a.mu.Lock()
	for _, c := range a.conns {
		c.CloseNow()
	}
	a.mu.Unlock()
	a.Listener.Close()
}

func (a *agent) messages(eventType string) []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []map[string]any
	for _, m := range a.msgs {
		if m["eventType"] == eventType {
			out = append(out, m)
		}
	}
	return out
}

// waitMedia waits until the agent got n media messages.
func (a *agent) waitMedia(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); len(a.messages("media")) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent got %d media messages within %v, want %d", len(a.messages("media")), timeout, n)
		}
	}
}

// streamedAudio decodes the payloads of the agent's media messages of track.
func (a *agent) streamedAudio(t *testing.T, track string) []int16 {
	t.Helper()
	var pcm []int16
	for _, m := range a.messages("media") {
		if m["track"] != track {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(m["payload"].(string))
		if err != nil {
			t.Fatalf("media payload: %v", err)
		}
		for _, b := range raw {
			pcm = append(pcm, g711.DecodeUlaw(b))
		}
	}
	return pcm
}

// goertzel is the power of pcm at hz (8 kHz), per sample.
func goertzel(pcm []int16, hz float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(pcm)) / float64(len(pcm))
}

// toneFrames is n 20 ms PCMU frames of a sine at hz.
func toneFrames(hz float64, n int) [][]byte {
	out := make([][]byte, n)
	for f := range out {
		pcm := make([]int16, 160)
		for i := range pcm {
			pcm[i] = int16(6000 * math.Sin(2*math.Pi*hz*float64(f*160+i)/8000))
		}
		out[f] = g711.EncodeUlawBuf(nil, pcm)
	}
	return out
}

// hum makes the phone send a tone at hz until ctx ends.
func hum(t *testing.T, p *phone, hz float64) {
	frames := toneFrames(hz, 50) // 1 s, a whole number of periods for 600/1000 Hz
	testenv.Go(t, func(ctx context.Context) error {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 60*50; i++ {
			select {
			case <-tick.C:
				p.send(0, false, frames[i%len(frames)], 160)
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	})
}

func (p *phone) heardAudio() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.audio...)
}

// A live call streams to a Go WebSocket server: start (metadata, tracks,
// streamParams, Basic auth on the handshake), media whose audio is the
// caller's 600 Hz tone, stop on StopStream. The server answers with
// playAudio (a 1000 Hz tone) that the caller hears at its RTP socket. The
// mediaStreamStarted and mediaStreamStopped callbacks carry the stream; a
// duplicate name and a second bidirectional stream get mediaStreamRejected.
func TestStreamBidirectionalEndToEnd(t *testing.T) {
	play := toneFrames(1000, 50) // 1 s
	ag := newAgent(t, func(ctx context.Context, c *websocket.Conn) {
		var ulaw []byte
		for _, f := range play {
			ulaw = append(ulaw, f...)
		}
		msg := `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + base64.StdEncoding.EncodeToString(ulaw) + `"}}`
		c.Write(ctx, websocket.MessageText, []byte(msg))
	})
	n := startNode(t)
	caller := newPhone(t, 'T', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartStream name="agent" mode="bidirectional" destination="` + ag.url() + `"` +
				` destinationUsername="bot" destinationPassword="secret" streamEventUrl="/stream">` +
				`<StreamParam name="customer" value="42"/></StartStream>` +
				`<StartStream name="agent" destination="` + ag.url() + `" streamEventUrl="/stream"/>` +
				`<StartStream name="second" mode="bidirectional" destination="` + ag.url() + `" streamEventUrl="/stream"/>` +
				`<Pause duration="4"/><StopStream name="agent" wait="true"/><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	out := dialApp(t, n, caller, appID)
	hum(t, caller, 600)
	started := h.wait("mediaStreamStarted", 15*time.Second)
	waitDone(t, out.Done(), "call")
	stopped := h.wait("mediaStreamStopped", 15*time.Second)

	ms, _ := started.Body["mediaStream"].(map[string]any)
	if ms["name"] != "agent" || ms["destination"] != ag.url() || ms["type"] != "WebSocket" || !strings.HasPrefix(ms["id"].(string), "s-") {
		t.Errorf("mediaStreamStarted %v", started.Body)
	}
	if started.Path != "/stream" || started.Body["callId"] == "" {
		t.Errorf("mediaStreamStarted to %s: %v", started.Path, started.Body)
	}
	if stopped.Body["cause"] != "closed" || stopped.Body["mediaStream"].(map[string]any)["duration"] == "" {
		t.Errorf("mediaStreamStopped %v", stopped.Body)
	}

	// The same name again, and a second bidirectional stream, are refused.
	var causes []string
	h.mu.Lock()
	for _, ev := range h.events {
		if ev.Type == "mediaStreamRejected" {
			causes = append(causes, ev.Body["cause"].(string)+" "+ev.Body["mediaStream"].(map[string]any)["name"].(string))
		}
	}
	h.mu.Unlock()
	slices.Sort(causes) // callbacks go out concurrently
	if strings.Join(causes, ", ") != "duplicate agent, error second" {
		t.Errorf("mediaStreamRejected: %v", causes)
	}

	starts, stops := ag.messages("start"), ag.messages("stop")
	if len(starts) != 1 || len(stops) != 1 {
		t.Fatalf("%d start and %d stop messages", len(starts), len(stops))
	}
	md := starts[0]["metadata"].(map[string]any)
	if md["callId"] != started.Body["callId"] || md["streamName"] != "agent" || md["streamId"] != ms["id"] || md["accountId"] != n.creds.AccountID {
		t.Errorf("start metadata %v", md)
	}
	if starts[0]["streamParams"].(map[string]any)["customer"] != "42" {
		t.Errorf("streamParams %v", starts[0]["streamParams"])
	}
	ag.mu.Lock()
	auth := ag.auth
	ag.mu.Unlock()
	if auth != "Basic "+base64.StdEncoding.EncodeToString([]byte("bot:secret")) {
		t.Errorf("handshake Authorization %q", auth)
	}

	streamed := ag.streamedAudio(t, "inbound")
	if len(streamed) < 8000 {
		t.Fatalf("%d samples streamed over 4 s", len(streamed))
	}
	if a, b := goertzel(streamed, 600), goertzel(streamed, 1000); a < 100*b || a < 1e5 {
		t.Errorf("streamed audio: 600 Hz power %.0f, 1000 Hz %.0f: not the caller's tone", a, b)
	}
	heard := caller.heardAudio()
	if a, b := goertzel(heard, 1000), goertzel(heard, 600); a < 10*b || a < 1e4 {
		t.Errorf("the caller heard: 1000 Hz power %.0f, 600 Hz %.0f: not the agent's playAudio", a, b)
	}
	t.Logf("%d samples streamed, %d heard by the caller", len(streamed), len(heard))
}

// A stream server that dies mid-call ends the stream (mediaStreamStopped,
// connection-error) and nothing else: the call runs its BXML to the end
// and the caller's RTP stream has no gap (one SSRC, sequence +1 and
// timestamp +160 throughout) and carries the document's audio: silence
// through the pause, then the sentence.
func TestStreamServerDiesCallLives(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	ag := newAgent(t, nil)
	n := startNode(t)
	caller := newPhone(t, 'K', false)
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><StartStream name="s1" tracks="both" destination="` + ag.url() + `" streamEventUrl="/stream"/>` +
				`<Pause duration="3"/><SpeakSentence>still here</SpeakSentence><Hangup/></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")})
	out := dialApp(t, n, caller, appID)
	hum(t, caller, 600)
	ag.waitMedia(t, 20, 10*time.Second)
	ag.kill()
	// The outbound track runs while the call only waits: silence is
	// streamed too.
	if in, out := len(ag.streamedAudio(t, "inbound")), len(ag.streamedAudio(t, "outbound")); in == 0 || out == 0 {
		t.Errorf("streamed %d inbound and %d outbound samples; want both tracks", in, out)
	}
	stopped := h.wait("mediaStreamStopped", 15*time.Second)
	if stopped.Body["cause"] != "connection-error" || stopped.Body["errorMessage"] == "" {
		t.Errorf("mediaStreamStopped %v", stopped.Body)
	}
	select {
	case <-out.Done():
		t.Fatal("the call ended when its stream server died")
	default:
	}
	waitDone(t, out.Done(), "call")
	if disc := h.wait("disconnect", 15*time.Second); disc.Body["cause"] != "hangup" {
		t.Errorf("disconnect %v", disc.Body)
	}
	got := caller.received()
	if len(got) < 100 {
		t.Fatalf("%d RTP packets", len(got))
	}
	maxGap := continuous(t, got)
	if maxGap > time.Second { // a stall, not a loaded machine's hiccup
		t.Errorf("a %v gap in the caller's stream", maxGap)
	}
	t.Logf("%d packets, largest gap %v", len(got), maxGap.Round(time.Millisecond))
	// Clean media: what the caller heard is the document's, across the
	// kill: silence through the <Pause> (nothing left over from the
	// stream), then the sentence.
	pcm := caller.heardAudio()
	const pause = 5 * 8000 / 2 // 2.5 s of the 3 s pause
	if len(pcm) < pause+8000 {
		t.Fatalf("the caller heard %d samples", len(pcm))
	}
	loud := 0
	for _, x := range pcm[:pause] {
		if x > 256 || x < -256 {
			loud++
		}
	}
	if loud > 0 {
		t.Errorf("%d loud samples during the pause", loud)
	}
	var sum float64
	for _, x := range pcm[pause:] {
		sum += float64(x) * float64(x)
	}
	rms := math.Sqrt(sum / float64(len(pcm)-pause))
	if rms < 200 {
		t.Errorf("the sentence after the kill: RMS %.0f, want speech", rms)
	}
	t.Logf("after the pause: RMS %.0f", rms)
}

// A module answers initiate with <StartStream>/<StopStream> and gets the
// stream's mediaStreamStarted event (it notes the stream's name in a call
// variable); the stream reaches the WebSocket server.
func TestModuleStartsStream(t *testing.T) {
	ag := newAgent(t, nil)
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/faulty")
	appID := n.ipApp(t, map[string]any{"moduleId": mod})
	n.kvSet(t, appID, "mode", "stream")
	n.kvSet(t, appID, "dest", ag.url())
	caller := newPhone(t, 'M', false)
	out := dialApp(t, n, caller, appID)
	hum(t, caller, 600)
	waitDone(t, out.Done(), "call")
	rec, _ := n.endedCall(t, appID)
	if rec.Variables["stream_started"] != "from-module" {
		t.Errorf("variables %v: the module did not see mediaStreamStarted", rec.Variables)
	}
	if len(ag.messages("start")) != 1 || len(ag.messages("stop")) != 1 || len(ag.messages("media")) == 0 {
		t.Errorf("the stream server got %d start, %d media, %d stop messages",
			len(ag.messages("start")), len(ag.messages("media")), len(ag.messages("stop")))
	}
}
