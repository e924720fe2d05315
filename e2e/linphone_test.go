package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// linphone is linphonec (liblinphone 5) run headless: commands go to its
// standard input as a user types them, call states come from its console
// output, and with "soundcard use files" it plays a WAV file as microphone
// and records what it hears to another.
type linphone struct {
	t       *testing.T
	stdin   io.WriteCloser
	console *lineLog
	seen    int // console lines already waited past
	record  string
}

var _ softphone = (*linphone)(nil)

// startLinphone starts linphonec with rc (the recipe
// examples/softphones/linphone/linphonerc, filled in) as its configuration
// and waits until its SIP port is bound.
func startLinphone(t *testing.T, rc string) *linphone {
	t.Helper()
	bin := testenv.LookTool(t, "linphonec")
	dir := t.TempDir()
	// liblinphone 5.1 never opens its SIP ports when it cannot open its
	// database in this directory ("no channel available" on every call);
	// the Linphone desktop application creates it, linphonec does not.
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o755); err != nil {
		t.Fatal(err)
	}
	rcPath, factory := filepath.Join(dir, "linphonerc"), filepath.Join(dir, "factory")
	mic := filepath.Join(dir, "mic.wav")
	l := &linphone{t: t, console: newLineLog(), record: filepath.Join(dir, "heard.wav")}
	for name, data := range map[string][]byte{
		rcPath: []byte(rc),
		// Test-only settings, where the recipe leaves linphone's defaults
		// (the factory file is read beneath the configuration): RTP from a
		// range, as baresip's, rather than the fixed 7078 another process
		// may hold.
		factory: []byte("[rtp]\naudio_rtp_port=20000-29998\n"),
		mic:     toneWAV(8000, 440, 20*time.Second),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "linphone.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("linphonec console (last lines):\n%s", lastLines(l.console.String(), 40))
			b, _ := os.ReadFile(logPath)
			t.Logf("linphonec log (last lines):\n%s", lastLines(string(b), 80))
		}
	})
	// "ports" prints the bound SIP port, 0 until linphonec listens.
	port := regexp.MustCompile(`sip port = (-?\d+)`)
	startPeer(t, "linphonec", func() *exec.Cmd {
		cmd := exec.Command(bin, "-c", rcPath, "-b", factory, "-d", "6", "-l", logPath)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, ".local", "share"),
			"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
		cmd.Stdout, cmd.Stderr = l.console, l.console
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		l.stdin = stdin
		return cmd
	}, func() bool {
		io.WriteString(l.stdin, "ports\n") // an exit shows in startPeer
		line, ok := l.wait(500*time.Millisecond, port.MatchString)
		n := 0
		if ok {
			n, _ = strconv.Atoi(port.FindStringSubmatch(line)[1])
		}
		return n > 0
	}, l.console.String)
	l.send("soundcard use files")
	l.send("play " + mic)
	l.send("record " + l.record)
	return l
}

// send types one command line.
func (l *linphone) send(line string) {
	l.t.Helper()
	if _, err := io.WriteString(l.stdin, line+"\n"); err != nil {
		l.t.Fatalf("linphonec %q: %v", line, err)
	}
}

// wait waits for a console line that match accepts, after those already
// waited past.
func (l *linphone) wait(timeout time.Duration, match func(string) bool) (string, bool) {
	line, n, ok := l.console.wait(l.seen, timeout, match)
	if ok {
		l.seen = n
	}
	return line, ok
}

func (l *linphone) dial(uri string) { l.send("call " + uri) }

// The console prints "Call 1 with <uri> connected." and "Call 1 with <uri>
// ended (<reason>).", after a "linphonec> " prompt at times.
func (l *linphone) waitConnected(timeout time.Duration) bool {
	_, ok := l.wait(timeout, func(s string) bool { return strings.Contains(s, "Call ") && strings.HasSuffix(s, " connected.") })
	return ok
}

func (l *linphone) waitClosed(timeout time.Duration) bool {
	_, ok := l.wait(timeout, func(s string) bool { return strings.Contains(s, "Call ") && strings.Contains(s, " ended (") })
	return ok
}

// sendDTMF types the digit: linphonec sends a line of digits as DTMF,
// RFC 4733 events with the recipe's use_rfc2833.
func (l *linphone) sendDTMF(digit byte) { l.send(string(digit)) }

func (l *linphone) hangup() { l.send("terminate") }

// heard returns what the recorder has written so far (it completes the WAV
// header only when the call ends).
func (l *linphone) heard() ([]byte, int) {
	b, _ := os.ReadFile(l.record)
	return wavPCM(b)
}

// lineLog collects a process's output as lines (an io.Writer for its
// stdout) and lets a test wait for one.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, strings.TrimRight(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
		added = true
	}
	if added {
		close(w.changed)
		w.changed = make(chan struct{})
	}
	return len(p), nil
}

// wait returns the first line from index from on that match accepts, and
// the index after it.
func (w *lineLog) wait(from int, timeout time.Duration, match func(string) bool) (string, int, bool) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		for i := from; i < len(w.lines); i++ {
			if match(w.lines[i]) {
				line := w.lines[i]
				w.mu.Unlock()
				return line, i + 1, true
			}
		}
		from = len(w.lines)
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return "", from, false
		}
	}
}

func (w *lineLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n") + "\n" + string(w.partial)
}

// The linphone harness reads what linphonec prints.
func TestLineLog(t *testing.T) {
	w := newLineLog()
	fmt.Fprint(w, "linphonec> Call 1 with sip:a@b connected.\r\nsip port")
	if _, n, ok := w.wait(0, time.Second, func(s string) bool { return strings.HasSuffix(s, " connected.") }); !ok || n != 1 {
		t.Fatalf("connected line: ok %v, next %d", ok, n)
	}
	if _, _, ok := w.wait(1, 50*time.Millisecond, func(s string) bool { return strings.HasPrefix(s, "sip port") }); ok {
		t.Fatal("a line without its end was matched")
	}
	fmt.Fprint(w, " = 5060\n")
	if line, _, ok := w.wait(1, time.Second, func(s string) bool { return strings.HasPrefix(s, "sip port") }); !ok || line != "sip port = 5060" {
		t.Fatalf("port line %q, ok %v", line, ok)
	}
}
