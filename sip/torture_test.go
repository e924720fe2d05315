package sip

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The RFC 4475 torture messages (testdata/torture, the corpus sipgo ships,
// plus its test.dat) over UDP and TCP against a real server: each request
// gets the answer the RFC expects, each response (there is no transaction
// for it) none. The top Via of each message is pointed at the test's socket
// (transport and sent-by only), so the answer comes back; the rest of the
// message is sent as it is.

// answer is what a message may get: a set of final statuses, or nothing.
type answer []int

// Statuses the RFC leaves open (a UAS may check authentication before
// content, say) list every acceptable one.
var (
	none      = answer{}
	challenge = answer{401} // a valid INVITE to an application that is not there
)

var tortureWant = map[string]struct{ udp, tcp answer }{
	// 3.1.1 valid messages: parsed and answered.
	"wsinv.dat":      {answer{481}, answer{481}}, // To has a tag: a request in a dialog the node does not have
	"intmeth.dat":    {answer{501}, answer{501}},
	"esc01.dat":      {challenge, challenge},
	"escnull.dat":    {answer{405}, answer{405}},
	"esc02.dat":      {answer{501}, answer{501}},
	"lwsdisp.dat":    {answer{200}, answer{200}},
	"longreq.dat":    {challenge, challenge},
	"dblreq.dat":     {answer{405}, answer{405, 401}}, // UDP: the INVITE after Content-Length is not the message's; TCP: it is the next one
	"semiuri.dat":    {answer{200}, answer{200}},
	"transports.dat": {answer{200}, answer{200}},
	"mpart01.dat":    {answer{405}, answer{405}},
	"unreason.dat":   {none, none},
	"noreason.dat":   {none, none},
	// 3.1.2 invalid messages.
	"badinv01.dat":   {answer{400}, answer{400}},
	"clerr.dat":      {answer{400}, none}, // TCP: the rest of the body may still come
	"ncl.dat":        {answer{400}, answer{400}},
	"scalar02.dat":   {answer{400}, answer{400}},
	"scalarlg.dat":   {none, none},
	"quotbal.dat":    {answer{400}, answer{400}},
	"ltgtruri.dat":   {answer{400}, answer{400}},
	"lwsruri.dat":    {answer{400}, answer{400}},
	"lwsstart.dat":   {answer{400}, answer{400}},
	"trws.dat":       {answer{400}, answer{400}},
	"escruri.dat":    {answer{400, 401}, answer{400, 401}},
	"baddate.dat":    {answer{400, 401}, answer{400, 401}},
	"regbadct.dat":   {answer{400, 405}, answer{400, 405}},
	"badaspec.dat":   {answer{400}, answer{400}},
	"baddn.dat":      {answer{400, 200}, none}, // TCP: no empty line ends it, the rest may still come
	"badvers.dat":    {answer{505}, answer{505}},
	"mismatch01.dat": {answer{400}, answer{400}},
	"mismatch02.dat": {answer{400, 501}, answer{400, 501}},
	"bigcode.dat":    {none, none},
	// 3.2, 3.3 transaction and application layer semantics.
	"badbranch.dat": {answer{200}, answer{200}},
	"insuf.dat":     {answer{400}, answer{400}},
	"unkscm.dat":    {answer{416}, answer{416}},
	"novelsc.dat":   {answer{416}, answer{416}},
	"unksm2.dat":    {answer{405}, answer{405}},
	"bext01.dat":    {answer{420}, answer{420}},
	"invut.dat":     {answer{401, 415}, answer{401, 415}},
	"regaut01.dat":  {answer{405}, answer{405}},
	"multi01.dat":   {answer{400}, answer{400}},
	"mcl01.dat":     {answer{400}, answer{400}},
	"bcast.dat":     {none, none},
	"zeromf.dat":    {answer{200, 483}, answer{200, 483}},
	"cparam01.dat":  {answer{405}, answer{405}},
	"cparam02.dat":  {answer{405}, answer{405}},
	"regescrt.dat":  {answer{400, 405}, answer{400, 405}},
	"sdp01.dat":     {answer{401, 406}, answer{401, 406}},
	// 3.4 backward compatibility: an RFC 2543 INVITE is taken.
	"inv2543.dat": {challenge, answer{400}}, // TCP: no Content-Length (RFC 3261 §18.3)
	// sipgo's own addition: a request line without a version.
	"test.dat": {answer{400}, answer{400}},
}

var topVia = regexp.MustCompile(`(?mi)^((?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*)(UDP|TCP|TLS)([ \t]+)([^;\r\n, \t]+)`)

// aim points the message's top Via at addr over transport.
func aim(t *testing.T, name string, msg []byte, transport, addr string) []byte {
	if name == "wsinv.dat" { // its Via is folded over three lines
		return bytes.Replace(msg, []byte("192.0.2.2"), []byte(addr), 1)
	}
	loc := topVia.FindSubmatchIndex(msg)
	if loc == nil {
		return msg // test.dat: no Via at all
	}
	out := append([]byte{}, msg[:loc[4]]...)
	out = append(out, transport...)
	out = append(out, msg[loc[5]:loc[8]]...)
	out = append(out, addr...)
	return append(out, msg[loc[9]:]...)
}

var statusLine = regexp.MustCompile(`(?m)^SIP/2\.0 (\d{3}) `)

// finals returns the final statuses in what was read (provisional ones
// dropped).
func finals(b []byte) []int {
	var out []int
	for _, m := range statusLine.FindAllSubmatch(b, -1) {
		if n, _ := strconv.Atoi(string(m[1])); n >= 200 {
			out = append(out, n)
		}
	}
	return out
}

func TestTorture(t *testing.T) {
	_, addrs := startServer(t, testConfig(), newTestEngine(true), "udp", "tcp")
	files, err := filepath.Glob("testdata/torture/*.dat")
	if err != nil || len(files) != len(tortureWant) {
		t.Fatalf("%d corpus files, %d expectations (%v)", len(files), len(tortureWant), err)
	}
	var mu sync.Mutex
	right := map[string]int{}
	only := os.Getenv("WASMVOICE_TORTURE_ONLY") // one file, for debugging
	t.Run("corpus", func(t *testing.T) {
		for _, f := range files {
			name := filepath.Base(f)
			if only != "" && name != only {
				continue
			}
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := tortureWant[name]
			for _, tr := range []struct {
				name string
				want answer
				send func(t *testing.T, name string, msg []byte, server string, enough int) []int
			}{
				{"udp", want.udp, sendUDP},
				{"tcp", want.tcp, sendTCP},
			} {
				t.Run(name+"/"+tr.name, func(t *testing.T) {
					t.Parallel()
					all := name == "dblreq.dat" && tr.name == "tcp"
					enough := min(1, len(tr.want)) // none: wait the whole read window
					if all {
						enough = len(tr.want)
					}
					got := tr.send(t, name, msg, addrs[tr.name], enough)
					if !gotWant(got, tr.want, all) {
						t.Errorf("answered %v, want %v", got, tr.want)
						return
					}
					mu.Lock()
					right[tr.name]++
					mu.Unlock()
				})
			}
		}
	})
	t.Logf("RFC 4475 corpus: %d/%d answered as expected over UDP, %d/%d over TCP", right["udp"], len(files), right["tcp"], len(files))
}

// gotWant: no answer for none; else every status got is allowed and (when
// all is set) every status wanted came.
func gotWant(got []int, want answer, all bool) bool {
	if len(want) == 0 || len(got) == 0 {
		return len(want) == 0 && len(got) == 0
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return false
		}
	}
	if all {
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
	}
	return true
}

// sendUDP sends msg and collects final statuses until enough came (0: until
// nothing more comes).
func sendUDP(t *testing.T, name string, msg []byte, server string, enough int) []int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raddr, _ := net.ResolveUDPAddr("udp4", server)
	if _, err := c.WriteToUDP(aim(t, name, msg, "UDP", c.LocalAddr().String()), raddr); err != nil {
		t.Fatal(err)
	}
	var got []int
	buf := make([]byte, 65535)
	for {
		c.SetReadDeadline(time.Now().Add(readWindow(enough)))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return got
		}
		got = append(got, finals(buf[:n])...)
		if enough > 0 && len(got) >= enough {
			return got
		}
	}
}

// readWindow is how long a read waits: long while answers are still due
// (a loaded machine may stall the server for a moment), short when none is
// (the window can then only make a test pass wrongly, never fail).
func readWindow(enough int) time.Duration {
	if enough > 0 {
		return 10 * time.Second
	}
	return 300 * time.Millisecond
}

func sendTCP(t *testing.T, name string, msg []byte, server string, enough int) []int {
	t.Helper()
	c, err := net.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(aim(t, name, msg, "TCP", c.LocalAddr().String())); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(readWindow(enough)))
		line, err := r.ReadString('\n')
		all.WriteString(line)
		if got := finals(all.Bytes()); err != nil || (enough > 0 && len(got) >= enough) {
			return got
		}
	}
}
