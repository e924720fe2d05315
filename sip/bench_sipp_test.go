package sip

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// TestSippBench is the loopback load benchmark of the front door, run only
// with WASMVOICE_SIP_BENCH=1 (it needs the machine to itself):
//
//	WASMVOICE_SIP_BENCH=1 GOMAXPROCS=1 taskset -c 1 go test ./sip -run TestSippBench -v -count=1
//
// sipp runs pinned to CPU 0 (taskset) with a 4 MiB socket buffer, at fixed
// rates for a bounded count. It reports, per scenario and rate, the
// completed operations, failures, retransmissions and the server's CPU time
// per operation (getrusage of this process, which is the server: the test
// itself only waits). WASMVOICE_SIP_BENCH_RATES overrides the rates
// ("2000,5000"), WASMVOICE_SIP_BENCH_SECONDS the duration of each run (10).
func TestSippBench(t *testing.T) {
	if os.Getenv("WASMVOICE_SIP_BENCH") != "1" {
		t.Skip("set WASMVOICE_SIP_BENCH=1 to run the sipp load benchmark")
	}
	sipp := testenv.LookTool(t, "sipp")
	rates := []int{2000, 5000}
	if v := os.Getenv("WASMVOICE_SIP_BENCH_RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatal(err)
			}
			rates = append(rates, r)
		}
	}
	seconds := 10
	if v := os.Getenv("WASMVOICE_SIP_BENCH_SECONDS"); v != "" {
		var err error
		if seconds, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig()
	cfg.DigestAlgorithms = []string{"MD5", "SHA-256"}
	_, addrs := startServer(t, cfg, newTestEngine(true), "udp")
	dir := t.TempDir()
	scenarios := []struct {
		name, file string
		data       scenarioData
		args       []string
	}{
		{"OPTIONS->200", "options.xml", scenarioData{}, nil},
		{"INVITE->407->ACK", "reject.xml", scenarioData{Expect: 407, ToUser: appPassword, MaxForwards: 70}, []string{"-s", appPassword}},
	}
	for _, sc := range scenarios {
		file := renderScenario(t, dir, sc.file, sc.data)
		for _, rate := range rates {
			count := rate * seconds
			before := cpuTime(t)
			start := time.Now()
			args := append([]string{sipp, "-sf", file, "-t", "u1", "-i", "127.0.0.1", "-r", strconv.Itoa(rate), "-m", strconv.Itoa(count),
				"-l", strconv.Itoa(rate), "-buff_size", "4194304", "-nostdin", "-timeout", strconv.Itoa(seconds*3) + "s", "-cp", "0", "-max_recv_loops", "10000"},
				sc.args...)
			args = append(args, addrs["udp"])
			if tp, err := exec.LookPath("taskset"); err == nil {
				args = append([]string{tp, "-c", "0"}, args...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*4)*time.Second)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			cancel()
			elapsed := time.Since(start)
			cpu := cpuTime(t) - before
			ok, failed, retrans := sippCounts(out)
			if ok == 0 {
				t.Fatalf("%s at %d/s: no successful call (%v)\n%s", sc.name, rate, err, tail(out, 3000))
			}
			t.Logf("%-17s rate %5d/s: %6d ok, %4d failed, %4d retrans in %5.1fs = %6.0f ops/s; server CPU %6.1f µs/op",
				sc.name, rate, ok, failed, retrans, elapsed.Seconds(), float64(ok)/elapsed.Seconds(), float64(cpu.Microseconds())/float64(ok))
			if err := os.WriteFile(filepath.Join(dir, "last-sipp.out"), out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	reSuccessful = regexp.MustCompile(`Successful call\s*\|\s*\d+\s*\|\s*(\d+)`)
	reFailed     = regexp.MustCompile(`Failed call\s*\|\s*\d+\s*\|\s*(\d+)`)
	reFirstSend  = regexp.MustCompile(`(?m)^\s*(?:OPTIONS|INVITE) ---------->\s+\d+\s+(\d+)`)
)

// sippCounts reads the final statistics screen of sipp's output.
func sippCounts(out []byte) (ok, failed, retrans int) {
	last := func(re *regexp.Regexp) int {
		m := re.FindAllSubmatch(out, -1)
		if len(m) == 0 {
			return 0
		}
		n, _ := strconv.Atoi(string(m[len(m)-1][1]))
		return n
	}
	return last(reSuccessful), last(reFailed), last(reFirstSend)
}
