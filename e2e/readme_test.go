package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// readmeSections are the README sections whose sh blocks the README test
// runs, in this order, as one shell script.
var readmeSections = []string{"Quickstart", "Calls"}

// readmeScript returns the ```sh blocks of the README's sections named in
// readmeSections, in order, as they are written.
func readmeScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	for _, name := range readmeSections {
		section, ok := markdownSection(string(b), name)
		if !ok {
			t.Fatalf("README.md has no section %q", name)
		}
		blocks := shBlocks(section)
		if len(blocks) == 0 {
			t.Fatalf("README.md section %q has no sh block", name)
		}
		for _, bl := range blocks {
			script.WriteString(bl)
			script.WriteString("\n")
		}
	}
	return script.String()
}

// markdownSection returns the body of the "## name" section, up to the
// next "## " heading (its "###" subsections included).
func markdownSection(doc, name string) (string, bool) {
	head := "\n## " + name + "\n"
	i := strings.Index(doc, head)
	if i < 0 {
		return "", false
	}
	body := doc[i+len(head):]
	if j := strings.Index(body, "\n## "); j >= 0 {
		body = body[:j]
	}
	return body, true
}

// shBlocks returns the contents of the fenced blocks whose info string is
// sh; other blocks (sample output) are not commands.
func shBlocks(md string) []string {
	var blocks []string
	var cur []string
	in, isSh := false, false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in, isSh, cur = true, strings.TrimSpace(strings.TrimPrefix(line, "```")) == "sh", nil
		case in && strings.TrimSpace(line) == "```":
			if isSh {
				blocks = append(blocks, strings.Join(cur, "\n"))
			}
			in = false
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

func TestShBlocks(t *testing.T) {
	md := "text\n```sh\na=1\necho $a\n```\n```\nsample output\n```\n```sh\nb=2\n```\n"
	got := shBlocks(md)
	if len(got) != 2 || got[0] != "a=1\necho $a" || got[1] != "b=2" {
		t.Errorf("shBlocks: %q", got)
	}
	doc := "# t\n## A\none\n### A.1\ntwo\n## B\nthree\n"
	if s, ok := markdownSection(doc, "A"); !ok || s != "one\n### A.1\ntwo" {
		t.Errorf("section A: %q %v", s, ok)
	}
	if _, ok := markdownSection(doc, "C"); ok {
		t.Error("section C found")
	}
}

// readmeRun is one run of the README's script.
type readmeRun struct {
	err     error
	outPath string
	vars    map[string]string // what the script's shell ended with
	pgid    int               // the script's process group: the server and webhook it left running
}

func (r *readmeRun) output() string {
	b, _ := os.ReadFile(r.outPath)
	return string(b)
}

// The README's Quickstart and Calls sections, run as written, in order, by
// bash with -euo pipefail, from the repository root, against the binary the
// harness built: credentials, server and example webhook, token,
// application, Inbound SIP URI and its password, then the sipp call with the
// shipped scenario. The test only chooses where things listen and keep
// their data, through variables the README and the binary read (WEBHOOK;
// WASMVOICE_HTTP_ADDR, _SIP_ADDR, _RTP_PORTS, _DATA_DIR, and _MEDIA_IP to
// stay on loopback), and then checks what the call did through the API:
// answered, DTMF gathered, hung up by the application, and the greeting
// reached sipp (which echoed it into the call's recording).
func TestReadme(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "go", "sipp", "espeak-ng"} {
		testenv.LookTool(t, tool)
	}
	script := readmeScript(t)
	if !strings.Contains(script, "sipp -sf examples/sipp/uac-digest.xml") {
		t.Fatalf("the README's Calls section no longer calls with examples/sipp/uac-digest.xml:\n%s", script)
	}
	// The README's sipp runs on its default ports (SIP 5060, RTP 6000): sipp
	// moves to the next free ones when another process holds them.

	var run *readmeRun
	for attempt := 1; ; attempt++ {
		run = runReadme(t, script)
		if run.err == nil || attempt == 3 || !strings.Contains(run.output(), "address already in use") {
			break
		}
		t.Logf("a port was taken (%v); running the README again on other ports", run.err)
		stopGroup(t, run.pgid)
	}
	if run.err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", run.err, lastLines(run.output(), 80))
	}
	out := run.output()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of the README's commands (last lines):\n%s", lastLines(out, 80))
		}
	})

	// DTMF gathered: the example webhook logs the gather callback.
	var gathered bool
	for _, line := range strings.Split(out, "\n") {
		if containsAll(line, "eventType=gather", "digits=1", "terminatingDigit=#") {
			gathered = true
		}
	}
	if !gathered {
		t.Errorf("the webhook logged no gather callback with digits=1 terminatingDigit=# (sipp replays the keys over a raw socket: root or cap_net_raw)")
	}

	s := &server{t: t, api: run.vars["API"], account: run.vars["ACCOUNT"], token: run.vars["TOKEN"]}
	callID := s.onlyCall()
	s.traceOnFailure(&callID)
	s.endedCall(callID).check(t, "server")
}

// runReadme runs script (the README's blocks) on free ports and returns
// once its shell has exited; what it started in the background runs until
// the test's cleanup stops its process group.
func runReadme(t *testing.T, script string) *readmeRun {
	t.Helper()
	dir := t.TempDir()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	varsPath := filepath.Join(dir, "vars")
	// Added by the test, after the README's commands: hand over the values
	// its shell ended with.
	trailer := `printf 'API=%s\nACCOUNT=%s\nTOKEN=%s\nAPP=%s\n' "$API" "$ACCOUNT" "$TOKEN" "$APP" > "$README_TEST_VARS"` + "\n"
	env := []string{
		"PATH=" + filepath.Dir(wasmvoiceBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"WASMVOICE_DATA_DIR=" + filepath.Join(dir, "data"),
		"WASMVOICE_HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t)),
		"WASMVOICE_SIP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", testenv.FreeSIPPort(t)),
		"WASMVOICE_RTP_PORTS=" + rtpRange(),
		"WASMVOICE_MEDIA_IP=127.0.0.1", // tests keep to loopback
		"WEBHOOK=" + fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t)),
		"README_TEST_VARS=" + varsPath,
	}
	for _, kv := range os.Environ() {
		// The developer's own settings must not reach the README's server.
		if name, _, _ := strings.Cut(kv, "="); name != "PATH" && name != "WEBHOOK" && !strings.HasPrefix(name, "WASMVOICE_") {
			env = append(env, kv)
		}
	}
	out, err := os.Create(filepath.Join(dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Bounded: go run may compile the webhook first on a busy machine.
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script+trailer)
	cmd.Dir, cmd.Env = repo, env
	// A file, not a pipe: the server and webhook keep it open after the
	// shell exits, and Wait must not wait for them.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &readmeRun{outPath: out.Name(), pgid: cmd.Process.Pid, vars: map[string]string{}}
	t.Cleanup(func() { stopGroup(t, r.pgid) })
	r.err = cmd.Wait()
	if r.err != nil {
		return r
	}
	b, err := os.ReadFile(varsPath)
	if err != nil {
		r.err = fmt.Errorf("the test's trailer wrote no values: %w", err)
		return r
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.vars[k] = v
		}
	}
	return r
}

// stopGroup ends what a README run left running (server, webhook): SIGTERM
// to its process group, then SIGKILL after 20 s. The processes are not our
// children (their shell has exited), so their exit is read from /proc.
func stopGroup(t *testing.T, pgid int) {
	t.Helper()
	if groupAlive(pgid) == 0 {
		return
	}
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for groupAlive(pgid) > 0 {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of the README's run did not stop within 20s of SIGTERM")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive counts the processes of group pgid that have not exited
// (zombies left to an init that does not reap them do not count).
func groupAlive(pgid int) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[0] != "X" && f[2] == strconv.Itoa(pgid) {
			n++
		}
	}
	return n
}

// speechLevel is the RMS (16-bit samples) that the loudest second of a
// channel must reach to count as speech: espeak-ng's is in the thousands, a
// silent channel's is 0 (G.711 silence decodes to a few units at most).
const speechLevel = 500

// callOutcome is what the API keeps of an ended call.
type callOutcome struct {
	callID          string
	state           string
	answered        bool
	disconnectCause string
	byeFrom         string  // "server" or "caller": who sent the BYE, from the SIP trace
	callerLevel     float64 // loudest second of the recording's first channel: what the caller sent
	heardLevel      float64 // and of its second: what the caller heard
}

// onlyCall waits for the account's only call to appear and returns its ID.
func (s *server) onlyCall() string {
	s.t.Helper()
	var calls []struct {
		CallID string `json:"callId"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code := s.call("GET", "/api/v2/accounts/"+s.account+"/calls", nil, &calls); code != 200 {
			s.t.Fatalf("listCalls: HTTP %d", code)
		}
		if len(calls) == 1 {
			return calls[0].CallID
		}
		if len(calls) > 1 || time.Now().After(deadline) {
			s.t.Fatalf("listCalls: %d calls, want 1", len(calls))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endedCall waits for callID to end and returns its state, who hung up and
// the levels of its recording's channels.
func (s *server) endedCall(callID string) callOutcome {
	s.t.Helper()
	o := callOutcome{callID: callID}
	base := "/api/v2/accounts/" + s.account + "/calls/" + callID
	var st struct {
		State           string  `json:"state"`
		AnswerTime      *string `json:"answerTime"`
		DisconnectCause *string `json:"disconnectCause"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := s.call("GET", base, nil, &st); code != 200 {
			s.t.Fatalf("getCallState %s: HTTP %d", callID, code)
		}
		if st.State == "disconnected" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.state, o.answered = st.State, st.AnswerTime != nil && *st.AnswerTime != ""
	if st.DisconnectCause != nil {
		o.disconnectCause = *st.DisconnectCause
	}
	var log struct {
		SIPTrace []struct {
			Direction string `json:"direction"`
			Message   string `json:"message"`
		} `json:"sipTrace"`
	}
	if code := s.call("GET", base+"/log", nil, &log); code != 200 {
		s.t.Fatalf("call log %s: HTTP %d", callID, code)
	}
	for _, m := range log.SIPTrace {
		if strings.HasPrefix(m.Message, "BYE ") {
			o.byeFrom = map[string]string{"out": "server", "in": "caller"}[m.Direction]
		}
	}
	var recs []struct {
		RecordingID string `json:"recordingId"`
		Status      string `json:"status"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code := s.call("GET", base+"/recordings", nil, &recs); code != 200 {
			s.t.Fatalf("recordings of %s: HTTP %d", callID, code)
		}
		if len(recs) > 0 && recs[0].Status == "complete" || time.Now().After(deadline) {
			break
		}
	}
	if len(recs) == 0 {
		s.t.Errorf("call %s has no recording", callID)
		return o
	}
	wav := s.download(base + "/recordings/" + recs[0].RecordingID + "/media")
	levels, err := loudestSecond(wav)
	if err != nil {
		s.t.Errorf("recording of %s: %v", callID, err)
		return o
	}
	if len(levels) != 2 {
		s.t.Errorf("recording of %s has %d channels, want 2", callID, len(levels))
		return o
	}
	o.callerLevel, o.heardLevel = levels[0], levels[1]
	return o
}

// check fails t unless the call was answered, ended with a hangup whose BYE
// came from byeFrom, and the caller sent back speech (sipp's -rtp_echo
// returns what it received: the greeting reached it).
func (o callOutcome) check(t *testing.T, byeFrom string) {
	t.Helper()
	if o.state != "disconnected" || !o.answered || o.disconnectCause != "hangup" {
		t.Errorf("call %s: state %q, answered %v, disconnectCause %q; want disconnected, answered, hangup",
			o.callID, o.state, o.answered, o.disconnectCause)
	}
	if o.byeFrom != byeFrom {
		t.Errorf("call %s: BYE from %q, want from the %s", o.callID, o.byeFrom, byeFrom)
	}
	if o.heardLevel < speechLevel {
		t.Errorf("call %s: the recording's second channel (what the caller heard) has RMS %.0f, want speech (≥ %d)", o.callID, o.heardLevel, speechLevel)
	}
	if o.callerLevel < speechLevel {
		t.Errorf("call %s: the caller echoed RMS %.0f back, want speech (≥ %d): the greeting did not reach it", o.callID, o.callerLevel, speechLevel)
	}
	t.Logf("call %s: BYE from the %s; loudest second: caller echoed RMS %.0f, heard RMS %.0f", o.callID, o.byeFrom, o.callerLevel, o.heardLevel)
}

// download GETs path with the server's token and returns the body.
func (s *server) download(path string) []byte {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: HTTP %d %v", path, resp.StatusCode, err)
	}
	return b
}

// loudestSecond reads a 16-bit PCM WAV file and returns, per channel, the
// RMS of its loudest one-second window.
func loudestSecond(wav []byte) ([]float64, error) {
	if len(wav) < 12 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		return nil, errors.New("not a WAV file")
	}
	var channels, rate, bits int
	for p := 12; p+8 <= len(wav); {
		id, size := string(wav[p:p+4]), int(binary.LittleEndian.Uint32(wav[p+4:p+8]))
		body := wav[p+8 : min(p+8+size, len(wav))]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, errors.New("short fmt chunk")
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if channels == 0 || rate == 0 || bits != 16 {
				return nil, fmt.Errorf("want 16-bit PCM, got %d channels, %d Hz, %d bits", channels, rate, bits)
			}
			levels := make([]float64, channels)
			frames := len(body) / (2 * channels)
			for start := 0; start < frames; start += rate / 2 { // windows overlap by half
				end := min(start+rate, frames)
				for c := range channels {
					var sum float64
					for i := start; i < end; i++ {
						v := float64(int16(binary.LittleEndian.Uint16(body[2*(i*channels+c):])))
						sum += v * v
					}
					levels[c] = math.Max(levels[c], math.Sqrt(sum/float64(end-start)))
				}
			}
			return levels, nil
		}
		p += 8 + size + size%2
	}
	return nil, errors.New("no data chunk")
}
