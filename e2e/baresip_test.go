package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	t       *testing.T
	dir     string
	sipPort int
	conn    net.Conn
	events  chan map[string]any
	log     *bytes.Buffer
	mu      sync.Mutex
}

var _ softphone = (*baresip)(nil)

// startBaresip starts baresip with examples/softphones/baresip/config made
// headless (baresipHeadless) and account as its accounts file.
func startBaresip(t *testing.T, account string) *baresip {
	t.Helper()
	return startBaresipWith(t, account, baresipOptions{})
}

// baresipOptions change a test's baresip: its microphone tone, and config
// lines added at the end (codec modules, sample rates).
type baresipOptions struct {
	micHz int // default 440
	extra []string
}

func startBaresipWith(t *testing.T, account string, o baresipOptions) *baresip {
	t.Helper()
	bin := testenv.LookTool(t, "baresip")
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	if o.micHz == 0 {
		o.micHz = 440
	}
	if err := os.WriteFile(mic, toneWAV(8000, o.micHz, 20*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		t.Fatal(err)
	}
	config := recipe(t, "softphones/baresip/config", recipeValues{})
	b := &baresip{t: t, dir: dir, events: make(chan map[string]any, 64), log: &bytes.Buffer{}}
	output := func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.log.String()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("baresip output (last lines):\n%s", lastLines(output(), 40))
		}
	})
	var ctrl string
	startPeer(t, "baresip", func() *exec.Cmd {
		// baresip binds the SIP port for UDP and TCP and the next one for
		// TLS; a port taken meanwhile makes startPeer start it again.
		ctrl = fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t))
		b.sipPort = testenv.FreeSIPPort(t)
		headless := baresipHeadless(config, dir, mic, ctrl, b.sipPort) + strings.Join(o.extra, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(headless), 0o644); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		b.log.Reset()
		b.mu.Unlock()
		// -n: the loopback interface's address is the one baresip puts in
		// its SDP, so it sends and hears media on 127.0.0.1 only.
		cmd := exec.Command(bin, "-4", "-n", "127.0.0.1", "-f", dir, "-v")
		cmd.Stdout, cmd.Stderr = &lockedWriter{b: b.log, mu: &b.mu}, &lockedWriter{b: b.log, mu: &b.mu}
		return cmd
	}, func() bool {
		c, err := net.Dial("tcp", ctrl)
		if err == nil {
			b.conn = c
		}
		return err == nil
	}, output)
	testenv.Go(t, func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { b.conn.Close() })
		defer stop()
		b.read(ctx)
		return nil
	})
	return b
}

// baresipHeadless turns the recipe's config into a test's: the sound card
// (the audio_* lines, alsa.so) and the keyboard (stdio.so) make way for a
// WAV file as microphone (aufile), a recorder of what is heard (sndfile) and
// the JSON control socket (ctrl_tcp), and SIP listens on loopback. Every
// other line is the recipe's.
func baresipHeadless(config, dir, mic, ctrl string, sipPort int) string {
	var out []string
	for _, line := range strings.Split(config, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (strings.HasPrefix(f[0], "audio_") ||
			len(f) > 1 && f[0] == "module" && (f[1] == "alsa.so" || f[1] == "stdio.so")) {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(append(out,
		fmt.Sprintf("sip_listen 127.0.0.1:%d", sipPort),
		"audio_source aufile,"+mic,
		// No sound card: the played audio goes into an unconnected bridge;
		// sndfile has already saved it by then.
		"audio_player aubridge,nowhere",
		"audio_alert aubridge,nowhere",
		"snd_path "+dir,
		"ctrl_tcp_listen "+ctrl,
		"rtp_ports 20000-29998",
		"module aufile.so",
		"module aubridge.so",
		"module sndfile.so",
		"module_app ctrl_tcp.so",
		""), "\n")
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
func (b *baresip) read(ctx context.Context) {
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
			select {
			case b.events <- m:
			case <-ctx.Done():
				return
			}
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

func (b *baresip) dial(uri string) { b.command("dial", uri) }

func (b *baresip) waitConnected(timeout time.Duration) bool {
	_, ok := b.waitEvent("CALL_ESTABLISHED", timeout)
	return ok
}

func (b *baresip) waitClosed(timeout time.Duration) bool {
	_, ok := b.waitEvent("CALL_CLOSED", timeout)
	return ok
}

func (b *baresip) sendDTMF(digit byte) { b.command("sndcode", string(digit)) }

func (b *baresip) hangup() { b.command("hangup", "") }

// heard returns the received audio recorded so far: sndfile writes what
// the decoder produced (the far end's audio) to dump-*-dec.wav.
func (b *baresip) heard() (pcm []byte, rate int) {
	files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
	rate = 8000
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if p, r := wavPCM(data); rms(p) > rms(pcm) {
			pcm, rate = p, r
		}
	}
	return pcm, rate
}
