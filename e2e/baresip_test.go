package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// baresip is a headless baresip softphone: it plays a WAV file as its
// microphone (aufile), records what it hears through the sndfile filter
// (snd_path/dump-*-dec.wav), and takes commands over ctrl_tcp.
type baresip struct {
	t      *testing.T
	dir    string
	conn   net.Conn
	events chan map[string]any
	log    *bytes.Buffer
	mu     sync.Mutex
}

func startBaresip(t *testing.T, appID, password, sipAddr string) *baresip {
	t.Helper()
	bin := testenv.LookTool(t, "baresip")
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	if err := os.WriteFile(mic, toneWAV(8000, 440, 20*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	ctrl := fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t))
	config := strings.Join([]string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", testenv.FreeSIPPort(t)),
		"audio_source aufile," + mic,
		// No sound card: the played audio goes into an unconnected bridge;
		// sndfile has already saved it by then.
		"audio_player aubridge,nowhere",
		"audio_alert aubridge,nowhere",
		"snd_path " + dir,
		"ctrl_tcp_listen " + ctrl,
		"rtp_ports 20000-29998",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module aubridge.so",
		"module sndfile.so",
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"",
	}, "\n")
	account := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;regint=0\n", appID, sipAddr, password)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, dir: dir, events: make(chan map[string]any, 64), log: &bytes.Buffer{}}
	cmd := exec.Command(bin, "-4", "-n", "127.0.0.1", "-f", dir, "-v")
	cmd.Stdout, cmd.Stderr = &lockedWriter{b: b.log, mu: &b.mu}, &lockedWriter{b: b.log, mu: &b.mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reading := make(chan struct{})
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.Close()
			<-reading // read ends with the connection
		}
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b.mu.Lock()
			t.Logf("baresip output (last lines):\n%s", lastLines(b.log.String(), 40))
			b.mu.Unlock()
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for b.conn == nil {
		c, err := net.Dial("tcp", ctrl)
		if err == nil {
			b.conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp did not listen on %s: %v", ctrl, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	go func() {
		defer close(reading)
		b.read()
	}()
	return b
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// read decodes ctrl_tcp's netstrings ("len:json,") until the connection
// closes; events go to b.events, command responses are dropped.
func (b *baresip) read() {
	defer close(b.events)
	r := bufio.NewReader(b.conn)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, ":"))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		msg := make([]byte, n+1)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(msg[:n], &m) == nil && m["event"] == true {
			b.events <- m
		}
	}
}

// command sends one ctrl_tcp command.
func (b *baresip) command(cmd, params string) {
	b.t.Helper()
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(js), js); err != nil {
		b.t.Fatalf("baresip %s: %v", cmd, err)
	}
}

// waitEvent waits for a call event of the given type (CALL_ESTABLISHED,
// CALL_CLOSED, ...).
func (b *baresip) waitEvent(typ string, timeout time.Duration) (map[string]any, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-b.events:
			if !ok {
				return nil, false
			}
			if ev["type"] == typ {
				return ev, true
			}
		case <-deadline:
			return nil, false
		}
	}
}

// heard returns the received audio recorded so far: sndfile writes what
// the decoder produced (the far end's audio) to dump-*-dec.wav, 16-bit mono.
func (b *baresip) heard() []byte {
	files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
	var best []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) <= 44 {
			continue
		}
		if pcm := data[44:]; rms(pcm) > rms(best) {
			best = pcm
		}
	}
	return best
}

// heardRMS is the RMS level of the received audio recorded so far
// (silence is 0).
func (b *baresip) heardRMS() float64 { return rms(b.heard()) }

// toneShare is the share of pcm's power at freq (Goertzel): about 1 for a
// pure tone of that frequency, near 0 for speech. It tells the server's
// speech from baresip's own microphone tone coming back.
func toneShare(pcm []byte, rate, freq int) float64 {
	n := len(pcm) / 2
	if n == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*float64(freq)/float64(rate))
	var s1, s2, energy float64
	for i := range n {
		x := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		energy += x * x
		s1, s2 = x+coeff*s1-s2, s1
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(n) * energy)
}

func rms(pcm []byte) float64 {
	n := len(pcm) / 2
	if n == 0 {
		return 0
	}
	var sum float64
	for i := range n {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		sum += v * v
	}
	return math.Sqrt(sum / float64(n))
}

// toneWAV is a mono 16-bit PCM WAV file of a sine tone.
func toneWAV(rate, freq int, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := range n {
		w(int16(8000 * math.Sin(2*math.Pi*float64(freq)*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// baresip calls the application's SIP URI with digest credentials, hears
// the application's text-to-speech, presses 1 and # (RFC 2833), which the
// webhook's Gather collects, and hangs up.
func TestBaresipSoftphone(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	// The default digest challenge (MD5 alone) is one baresip 1.0 (libre)
	// completes: it gives up on the whole 407 when any challenge names an
	// algorithm it lacks (SHA-256).
	s := startServer(t)
	hook := newHook(t, func(path string, _ map[string]any) string {
		switch path {
		case "/initiate":
			return `<Response><Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="5" firstDigitTimeout="30">` +
				`<SpeakSentence>Welcome to wasmvoice. Please press one, then pound. Welcome to wasmvoice.</SpeakSentence>` +
				`</Gather></Response>`
		case "/gather":
			return `<Response><SpeakSentence>Thank you.</SpeakSentence><Pause duration="30"/></Response>`
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	phone := startBaresip(t, appID, pw, s.sip)
	phone.command("dial", "sip:"+appID+"@"+s.sip)
	if _, ok := phone.waitEvent("CALL_ESTABLISHED", 30*time.Second); !ok {
		t.Fatal("baresip: no CALL_ESTABLISHED")
	}
	if initiate, ok := hook.wait("initiate", 5*time.Second); ok {
		callID, _ = initiate["callId"].(string)
	}
	// The prompt is playing when the recorded audio stops being silent.
	heard := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if phone.heardRMS() > 100 {
			heard = true
			break
		}
	}
	if !heard {
		t.Errorf("baresip heard only silence (RMS %.1f)", phone.heardRMS())
	}
	// What it heard is the prompt, not its own 440 Hz microphone tone.
	share := toneShare(phone.heard(), 8000, 440)
	if share > 0.5 {
		t.Errorf("received audio is mostly baresip's own 440 Hz tone (share %.2f), not speech", share)
	}
	t.Logf("received audio RMS %.0f (16-bit full scale 32767), 440 Hz share %.3f", phone.heardRMS(), share)
	phone.command("sndcode", "1")
	time.Sleep(500 * time.Millisecond) // let the first digit's event end before the next
	phone.command("sndcode", "#")
	gather, ok := hook.wait("gather", 20*time.Second)
	if !ok {
		t.Fatalf("no gather callback; got %v", hook.types())
	}
	if gather["digits"] != "1" || gather["terminatingDigit"] != "#" {
		t.Errorf("gather: %v", gather)
	}
	phone.command("hangup", "")
	if _, ok := phone.waitEvent("CALL_CLOSED", 20*time.Second); !ok {
		t.Error("baresip: no CALL_CLOSED after hangup")
	}
	disc, ok := hook.wait("disconnect", 20*time.Second)
	if !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}
	if disc["cause"] != "hangup" {
		t.Errorf("disconnect: %v", disc)
	}
}

// The check that tells speech from a returned microphone tone.
func TestToneShare(t *testing.T) {
	tone := toneWAV(8000, 440, time.Second)[44:]
	if s := toneShare(tone, 8000, 440); s < 0.9 {
		t.Errorf("440 Hz tone: share %.3f, want about 1", s)
	}
	other := toneWAV(8000, 1000, time.Second)[44:]
	if s := toneShare(other, 8000, 440); s > 0.05 {
		t.Errorf("1000 Hz tone: share %.3f, want about 0", s)
	}
}
