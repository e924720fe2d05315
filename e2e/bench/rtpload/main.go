// Command rtpload is the benchmark's media load: it places N digest
// authenticated calls to a wasmvoice application over SIP (sipgo), answers
// the application's <Transfer> to its own SIP address, and pumps G.711-sized
// RTP (20 ms, 160-byte payload) both ways through the server's relay. Every
// packet carries its send time, so one process measures loss and the
// latency the relay adds on both paths with a single clock.
//
// With -transfer=false the application is expected to keep the call up on
// its own (a <Pause>): the calls then carry RTP one way, into the server,
// which is the shape of a plain answered call for memory figures.
//
// It prints one JSON object on stdout and writes -ready-file once every
// call is set up, so run.sh can sample the server's memory mid-call.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// magic marks our packets' payloads so stray traffic is not counted.
const magic = 0x57564250 // "WVBP"

const (
	payloadLen = 160 // 20 ms of G.711 at 8 kHz
	ptime      = 20 * time.Millisecond
)

type config struct {
	target, app, password, listen, readyFile string
	calls, rate                              int
	hold                                     time.Duration
	transfer                                 bool
}

func main() {
	var c config
	flag.StringVar(&c.target, "target", "127.0.0.1:5060", "wasmvoice SIP address")
	flag.StringVar(&c.app, "app", "", "application ID (digest user)")
	flag.StringVar(&c.password, "password", "", "SIP digest password")
	flag.StringVar(&c.listen, "listen", "127.0.0.1:5099", "our SIP address (the application transfers here)")
	flag.StringVar(&c.readyFile, "ready-file", "", "written once every call is set up")
	flag.IntVar(&c.calls, "calls", 100, "concurrent calls")
	flag.IntVar(&c.rate, "rate", 50, "call setups per second")
	flag.DurationVar(&c.hold, "hold", 15*time.Second, "how long RTP flows once every call is up")
	flag.BoolVar(&c.transfer, "transfer", true, "expect the application to transfer each call back to -listen")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, c, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtpload:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// result is what run.sh reads.
type result struct {
	Calls         int     `json:"calls"`
	Established   int     `json:"established"`
	Transferred   int     `json:"transferred"`
	SetupFailures int     `json:"setupFailures"`
	Sent          int64   `json:"sent"`     // packets, both directions
	Received      int64   `json:"received"` // our packets that came back out of the relay
	LossPct       float64 `json:"lossPct"`
	LatencyP50Ms  float64 `json:"latencyP50Ms"`
	LatencyP99Ms  float64 `json:"latencyP99Ms"`
	LatencyMaxMs  float64 `json:"latencyMaxMs"`
	Seconds       float64 `json:"seconds"`
}

// leg is one of our RTP endpoints: the caller side of a call or the
// transfer target's side.
type leg struct {
	conn   *net.UDPConn
	remote *net.UDPAddr // the server's RTP address for this leg
	id     uint32       // call index << 1 | side
	seq    uint16
	ts     uint32
}

type load struct {
	c     config
	log   *slog.Logger
	start time.Time

	mu   sync.Mutex
	legs []*leg

	sent, received atomic.Int64
	latMu          sync.Mutex
	lat            []time.Duration
}

func run(ctx context.Context, c config, log *slog.Logger) (*result, error) {
	l := &load{c: c, log: log, start: time.Now()}
	host, portStr, err := net.SplitHostPort(c.listen)
	if err != nil {
		return nil, fmt.Errorf("-listen: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("wasmvoice-rtpload"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		return nil, err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port))
	if err != nil {
		return nil, err
	}
	contact := sip.ContactHeader{Address: sip.Uri{User: "rtpload", Host: host, Port: port}}
	dialogs := sipgo.NewDialogClientCache(cli, contact)
	answers := sipgo.NewDialogServerCache(cli, contact)
	var transferred atomic.Int64

	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		dlg, err := answers.ReadInvite(req, tx)
		if err != nil {
			log.Warn("transfer INVITE", "error", err)
			return
		}
		remote, err := sdpAddr(req.Body())
		if err != nil {
			dlg.Respond(488, "Not Acceptable Here", nil)
			return
		}
		lg, err := l.newLeg(remote, uint32(transferred.Add(1)-1)<<1|1)
		if err != nil {
			dlg.Respond(503, "Service Unavailable", nil)
			return
		}
		if err := dlg.RespondSDP(offer(lg)); err != nil {
			log.Warn("answer transfer", "error", err)
		}
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { answers.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := answers.ReadBye(req, tx); err == nil {
			return
		}
		if err := dialogs.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Call Does Not Exist", nil))
		}
	})
	pc, err := net.ListenPacket("udp", c.listen)
	if err != nil {
		return nil, err
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	go func() { <-srvCtx.Done(); pc.Close() }()
	go srv.ServeUDP(pc)

	// Set the calls up at the given rate.
	var calls []*sipgo.DialogClientSession
	var failures int
	target := sip.Uri{User: c.app, Host: strings.Split(c.target, ":")[0]}
	if _, p, err := net.SplitHostPort(c.target); err == nil {
		target.Port, _ = strconv.Atoi(p)
	}
	tick := time.NewTicker(time.Second / time.Duration(max(c.rate, 1)))
	var setup sync.WaitGroup
	var callsMu sync.Mutex
	for i := range c.calls {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		setup.Add(1)
		go func() {
			defer setup.Done()
			d, err := l.call(ctx, dialogs, target, uint32(i)<<1)
			callsMu.Lock()
			defer callsMu.Unlock()
			if err != nil {
				failures++
				log.Warn("call setup", "call", i, "error", err)
				return
			}
			calls = append(calls, d)
		}()
	}
	tick.Stop()
	setup.Wait()
	if c.transfer { // the transfers follow the answers closely
		deadline := time.Now().Add(10 * time.Second)
		for int(transferred.Load()) < len(calls) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if c.readyFile != "" {
		os.WriteFile(c.readyFile, []byte(strconv.Itoa(len(calls))), 0o644)
	}

	// Pump RTP on every leg for the hold time, then let the tail arrive.
	t0 := time.Now()
	pumpCtx, stopPump := context.WithTimeout(ctx, c.hold)
	l.pump(pumpCtx)
	stopPump()
	time.Sleep(500 * time.Millisecond)
	elapsed := time.Since(t0)

	var hang sync.WaitGroup
	for _, d := range calls {
		hang.Add(1)
		go func() {
			defer hang.Done()
			byeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Bye(byeCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("bye", "error", err)
			}
			d.Close()
		}()
	}
	hang.Wait()
	l.mu.Lock()
	for _, lg := range l.legs {
		lg.conn.Close()
	}
	l.mu.Unlock()

	res := &result{Calls: c.calls, Established: len(calls), Transferred: int(transferred.Load()),
		SetupFailures: failures, Sent: l.sent.Load(), Received: l.received.Load(), Seconds: elapsed.Seconds()}
	if res.Sent > 0 {
		res.LossPct = 100 * float64(res.Sent-res.Received) / float64(res.Sent)
	}
	l.latMu.Lock()
	slices.Sort(l.lat)
	if n := len(l.lat); n > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyMaxMs = ms(l.lat[n/2]), ms(l.lat[n*99/100]), ms(l.lat[n-1])
	}
	l.latMu.Unlock()
	return res, nil
}

// call sets up one digest-authenticated call with our caller leg's SDP.
func (l *load) call(ctx context.Context, dialogs *sipgo.DialogClientCache, target sip.Uri, id uint32) (*sipgo.DialogClientSession, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	lg := &leg{conn: conn, id: id}
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := dialogs.Invite(setupCtx, target, offer(lg), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("invite: %w", err)
	}
	if err := d.WaitAnswer(setupCtx, sipgo.AnswerOptions{Username: l.c.app, Password: l.c.password}); err != nil {
		conn.Close()
		d.Close()
		return nil, fmt.Errorf("answer: %w", err)
	}
	if err := d.Ack(setupCtx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ack: %w", err)
	}
	remote, err := sdpAddr(d.InviteResponse.Body())
	if err != nil {
		conn.Close()
		return nil, err
	}
	lg.remote = remote
	l.addLeg(lg)
	return d, nil
}

func (l *load) newLeg(remote *net.UDPAddr, id uint32) (*leg, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	lg := &leg{conn: conn, remote: remote, id: id}
	l.addLeg(lg)
	return lg, nil
}

func (l *load) addLeg(lg *leg) {
	_ = lg.conn.SetReadBuffer(1 << 20)
	l.mu.Lock()
	l.legs = append(l.legs, lg)
	l.mu.Unlock()
	go l.receive(lg)
}

// receive counts our packets arriving at lg and their one-way latency.
func (l *load) receive(lg *leg) {
	buf := make([]byte, 1500)
	var lat []time.Duration
	defer func() {
		l.latMu.Lock()
		l.lat = append(l.lat, lat...)
		l.latMu.Unlock()
	}()
	for {
		n, err := lg.conn.Read(buf)
		if err != nil {
			return
		}
		if n < 12+16 || buf[0]>>6 != 2 {
			continue
		}
		p := buf[12+(int(buf[0]&0x0f)*4) : n]
		if len(p) < 16 || binary.BigEndian.Uint32(p) != magic {
			continue
		}
		sentAt := time.Duration(binary.BigEndian.Uint64(p[8:]))
		lat = append(lat, time.Since(l.start)-sentAt)
		l.received.Add(1)
	}
}

// pumpSlots spreads the legs' packets over each 20 ms: leg i sends in slot
// i % pumpSlots. Independent phones' packets arrive at random phases; every
// leg sending at the same instant made a burst of hundreds of packets that
// the relay could only queue, so the latency figure measured the burst's
// length, not the relay.
const pumpSlots = 20

// pump sends one packet per leg every 20 ms until ctx ends.
func (l *load) pump(ctx context.Context) {
	t := time.NewTicker(ptime / pumpSlots)
	defer t.Stop()
	pkt := make([]byte, 12+payloadLen)
	for slot := 0; ; slot = (slot + 1) % pumpSlots {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		legs := l.legs
		l.mu.Unlock()
		for i := slot; i < len(legs); i += pumpSlots {
			lg := legs[i]
			if lg.remote == nil {
				continue
			}
			lg.seq++
			lg.ts += payloadLen
			pkt[0], pkt[1] = 0x80, 8 // RTP v2, PCMA
			binary.BigEndian.PutUint16(pkt[2:], lg.seq)
			binary.BigEndian.PutUint32(pkt[4:], lg.ts)
			binary.BigEndian.PutUint32(pkt[8:], lg.id+1)
			p := pkt[12:]
			for j := range p {
				p[j] = 0xd5 // A-law silence
			}
			binary.BigEndian.PutUint32(p, magic)
			binary.BigEndian.PutUint32(p[4:], lg.id)
			binary.BigEndian.PutUint64(p[8:], uint64(time.Since(l.start)))
			if _, err := lg.conn.WriteToUDP(pkt, lg.remote); err == nil {
				l.sent.Add(1)
			}
		}
	}
}

// offer is our SDP: PCMA and telephone-event at the leg's socket.
func offer(lg *leg) []byte {
	port := lg.conn.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=rtpload %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n",
		lg.id, port))
}

// sdpAddr reads the audio address out of an SDP body.
func sdpAddr(body []byte) (*net.UDPAddr, error) {
	var ip net.IP
	port := 0
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if f, ok := strings.CutPrefix(line, "c=IN IP4 "); ok && ip == nil {
			ip = net.ParseIP(strings.Fields(f)[0])
		}
		if f, ok := strings.CutPrefix(line, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(f)[0])
		}
	}
	if ip == nil || port == 0 {
		return nil, fmt.Errorf("no audio address in SDP %q", body)
	}
	return &net.UDPAddr{IP: ip, Port: port}, nil
}
