package media

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestRelayLoad is the bounded load run. This process is the relay: N
// bridged G.711 calls. A child process (this test binary again, running
// TestRelayLoadGenerator) is the phones: one socket per leg, one 172-byte
// packet every 20 ms each way, counting loss and latency (send to receive
// through the relay, two loopback hops included). The relay latches onto the
// generator's sockets from their first packets, as it would behind NAT.
//
// Enabled by WASMVOICE_MEDIA_LOAD=1. WASMVOICE_MEDIA_LOAD_CALLS lists call
// counts (default 100,250,500,1000), WASMVOICE_MEDIA_LOAD_SECONDS the length
// of each step (default 15). WASMVOICE_MEDIA_LOAD_GEN_CPU=0 pins the
// generator with taskset; pin the relay yourself (taskset -c 1, GOMAXPROCS=1).
func TestRelayLoad(t *testing.T) {
	if os.Getenv("WASMVOICE_MEDIA_LOAD") != "1" {
		t.Skip("set WASMVOICE_MEDIA_LOAD=1 to run the relay load test")
	}
	counts := []int{100, 250, 500, 1000}
	if v := os.Getenv("WASMVOICE_MEDIA_LOAD_CALLS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 2400 {
				t.Fatalf("bad call count %q (1-2400)", f)
			}
			counts = append(counts, n)
		}
	}
	secs := 15
	if v := os.Getenv("WASMVOICE_MEDIA_LOAD_SECONDS"); v != "" {
		var err error
		if secs, err = strconv.Atoi(v); err != nil || secs < 1 || secs > 120 {
			t.Fatalf("bad seconds %q (1-120)", v)
		}
	}
	t.Logf("relay GOMAXPROCS=%d; the machine's cores are shared with other work", runtime.GOMAXPROCS(0))
	for _, n := range counts {
		relayCPU, r := runLoad(t, n, secs)
		t.Logf("calls=%d sent=%d received=%d lost=%d (%.3f%%) latency p50=%v p99=%v max=%v relay_cpu=%.1fµs/pkt (%.0f%% of a core) UdpRcvbufErrors+=%d",
			n, r.Sent, r.Received, r.Sent-r.Received, 100*float64(r.Sent-r.Received)/float64(max(r.Sent, 1)),
			r.P50, r.P99, r.Max, float64(relayCPU.Microseconds())/float64(max(r.Received, 1)),
			100*relayCPU.Seconds()/float64(secs), r.RcvbufErrs)
	}
}

type loadResult struct {
	Sent, Received int64
	P50, P99, Max  time.Duration
	RcvbufErrs     int64
}

func runLoad(t *testing.T, calls, secs int) (time.Duration, loadResult) {
	m, err := NewManager(Config{
		AdvertisedIP: netip.MustParseAddr("127.0.0.1"), BindIP: netip.MustParseAddr("127.0.0.1"),
		PortMin: 10000, PortMax: 19999, IdleTimeout: time.Minute, ReadBuffer: 4 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Until latched, the relay sends to the discard port of the offer.
	offer := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
	var ports []int
	var sessions []*Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for i := 0; i < calls; i++ {
		s := m.NewSession(SessionOptions{})
		sessions = append(sessions, s)
		var legs [2]*Leg
		for j := range legs {
			if legs[j], err = s.NewLeg(strconv.Itoa(j)); err != nil {
				t.Fatal(err)
			}
			if _, err := legs[j].Answer(offer, AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			ports = append(ports, legs[j].Port())
		}
		if err := s.Bridge(legs[0], legs[1]); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	pf := filepath.Join(dir, "ports.json")
	b, _ := json.Marshal(ports)
	if err := os.WriteFile(pf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run", "^TestRelayLoadGenerator$", "-test.v"}
	bin := os.Args[0]
	if cpu := os.Getenv("WASMVOICE_MEDIA_LOAD_GEN_CPU"); cpu != "" {
		args = append([]string{"-c", cpu, bin}, args...)
		bin = "taskset"
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "WASMVOICE_MEDIA_LOADGEN="+pf, "WASMVOICE_MEDIA_LOADGEN_SECONDS="+strconv.Itoa(secs), "WASMVOICE_MEDIA_LOAD=")
	cpu0 := cpuTime()
	out, err := cmd.CombinedOutput()
	cpu := cpuTime() - cpu0
	if err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	var r loadResult
	for _, line := range strings.Split(string(out), "\n") {
		if _, js, ok := strings.Cut(line, "LOADRESULT "); ok {
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cpu, r
}

// TestRelayLoadGenerator is the child side of TestRelayLoad.
func TestRelayLoadGenerator(t *testing.T) {
	pf := os.Getenv("WASMVOICE_MEDIA_LOADGEN")
	if pf == "" {
		t.Skip("only run as TestRelayLoad's child process")
	}
	secs, _ := strconv.Atoi(os.Getenv("WASMVOICE_MEDIA_LOADGEN_SECONDS"))
	b, err := os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	var ports []int
	if err := json.Unmarshal(b, &ports); err != nil {
		t.Fatal(err)
	}
	r := generate(t, ports, time.Duration(max(secs, 1))*time.Second)
	js, _ := json.Marshal(r)
	fmt.Printf("LOADRESULT %s\n", js)
}

type loadPeer struct {
	conn  *net.UDPConn
	relay *net.UDPAddr
	seq   uint16
	ssrc  uint32
}

func generate(t *testing.T, ports []int, dur time.Duration) loadResult {
	peers := make([]*loadPeer, len(ports))
	for i, port := range ports {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadBuffer(1 << 20)
		peers[i] = &loadPeer{conn: c, relay: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, ssrc: uint32(i)}
	}

	// Receivers: one goroutine per socket; latency histogram with 10 µs
	// buckets up to 10 ms, then 1 ms buckets up to 1 s.
	var received atomic.Int64
	hists := make([][]uint32, len(peers))
	var rwg sync.WaitGroup
	for i, p := range peers {
		hists[i] = make([]uint32, nBuckets)
		rwg.Add(1)
		go func(c *net.UDPConn, h []uint32) {
			defer rwg.Done()
			buf := make([]byte, 1500)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if n != 172 {
					continue
				}
				d := time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(buf[12:20])))
				h[latencyBucket(d)]++
				received.Add(1)
			}
		}(p.conn, hists[i])
	}

	// Warm-up: one short packet from every socket so the relay latches all
	// of them before counting starts (until then it sends to the offer's
	// discard port, which would count as loss). Receivers ignore the size.
	for _, p := range peers {
		warm := make([]byte, 20)
		_, _ = (&rtp.Header{Version: 2, SSRC: p.ssrc, SequenceNumber: p.seq}).MarshalTo(warm)
		p.seq++
		_, _ = p.conn.WriteToUDP(warm, p.relay)
	}
	time.Sleep(300 * time.Millisecond)

	rcv0 := udpRcvbufErrors()
	// Senders: each sends one packet per peer every 20 ms, spread over 20
	// one-millisecond slots as independent phones would be, not in a burst.
	var sent atomic.Int64
	const senders = 4
	var swg sync.WaitGroup
	stop := time.Now().Add(dur)
	for g := 0; g < senders; g++ {
		swg.Add(1)
		go func(mine []*loadPeer) {
			defer swg.Done()
			pkt := make([]byte, 172)
			send := func(p *loadPeer) {
				h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 160, SSRC: p.ssrc}
				p.seq++
				_, _ = h.MarshalTo(pkt)
				binary.BigEndian.PutUint64(pkt[12:20], uint64(time.Now().UnixNano()))
				if _, err := p.conn.WriteToUDP(pkt, p.relay); err == nil {
					sent.Add(1)
				}
			}
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			last := -1
			for now := range tick.C {
				if now.After(stop) {
					return
				}
				// Catch up on every slot due, so a late tick delays packets
				// instead of skipping them.
				due := int(now.Sub(start) / time.Millisecond)
				for slot := last + 1; slot <= due; slot++ {
					for k := slot % 20; k < len(mine); k += 20 {
						send(mine[k])
					}
				}
				last = due
			}
		}(peers[g*len(peers)/senders : (g+1)*len(peers)/senders])
	}
	swg.Wait()
	time.Sleep(2 * time.Second) // drain: late is not lost
	for _, p := range peers {
		_ = p.conn.SetReadDeadline(time.Now()) // unblock receivers
	}
	rwg.Wait()

	total := make([]uint64, nBuckets)
	var count uint64
	for _, h := range hists {
		for i, v := range h {
			total[i] += uint64(v)
			count += uint64(v)
		}
	}
	pct := func(q float64) time.Duration {
		target := uint64(q * float64(count))
		var acc uint64
		for i, v := range total {
			acc += v
			if acc > target {
				return bucketTop(i)
			}
		}
		return bucketTop(nBuckets - 1)
	}
	maxB := 0
	for i, v := range total {
		if v > 0 {
			maxB = i
		}
	}
	return loadResult{Sent: sent.Load(), Received: received.Load(), P50: pct(0.50), P99: pct(0.99),
		Max: bucketTop(maxB), RcvbufErrs: udpRcvbufErrors() - rcv0}
}

const nBuckets = 2000

func latencyBucket(d time.Duration) int {
	switch {
	case d < 0:
		return 0
	case d < 10*time.Millisecond:
		return int(d / (10 * time.Microsecond))
	}
	return min(1000+int((d-10*time.Millisecond)/time.Millisecond), nBuckets-1)
}

// bucketTop is the upper bound of a bucket (what a percentile reports).
func bucketTop(i int) time.Duration {
	if i < 1000 {
		return time.Duration(i+1) * 10 * time.Microsecond
	}
	return 10*time.Millisecond + time.Duration(i-999)*time.Millisecond
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// udpRcvbufErrors reads the kernel's UDP receive-buffer drop counter (all
// processes), to tell socket-buffer drops from slowness.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Udp: ") {
			continue
		}
		f := strings.Fields(line)
		if head == nil {
			head = f
			continue
		}
		if i := slices.Index(head, "RcvbufErrors"); i > 0 && i < len(f) {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			return n
		}
	}
	return 0
}
