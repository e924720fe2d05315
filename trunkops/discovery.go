package trunkops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Discovery (POST /v1/sip/discover): given a customer's SIP host, resolve it
// (A/AAAA and the SRV records _sip._udp, _sip._tcp, _sips._tcp) and probe
// the candidate ports and transports with SIP OPTIONS, naming the software
// that answers (Server or User-Agent), its methods (Allow) and codecs (any
// SDP in the answer), and recommend the best endpoint.
//
// A discovery only ever sends SIP OPTIONS, to at most MaxDiscoveryProbes
// endpoints, each port a SIP port the caller named (or the defaults, or an
// SRV record's), so it cannot be turned into a general scanner or an HTTP
// request forger; it is bounded in time (DiscoveryTimeout in all,
// discoveryProbeTimeout per probe) and concurrency (maxProbes), and an
// account runs one at a time. Loopback and private targets are allowed: a
// PBX on the customer's own network is what self-hosting is for.

// Discovery limits.
const (
	// DiscoveryTimeout bounds one discovery, DNS included.
	DiscoveryTimeout = 15 * time.Second
	// MaxDiscoveryProbes caps the endpoints one discovery probes.
	MaxDiscoveryProbes = 32
	// discoveryProbeTimeout bounds one OPTIONS probe.
	discoveryProbeTimeout = 3 * time.Second
	// discoveryTTL is how long a finished discovery stays readable.
	discoveryTTL = 10 * time.Minute
)

// Discovery states.
const (
	DiscoveryRunning   = "running"
	DiscoveryCompleted = "completed"
	DiscoveryFailed    = "failed"
)

// DefaultDiscoveryPorts are probed when the request names none.
var DefaultDiscoveryPorts = []int{5060, 5061, 5080}

// DiscoveryTransports are the transports probed when the request names none.
var DiscoveryTransports = []string{"udp", "tcp", "tls"}

var (
	// ErrDiscoveryRunning refuses a second discovery while the account's
	// first still runs.
	ErrDiscoveryRunning = errors.New("a discovery is already running for this account")
	// ErrDiscoveryNotFound is an unknown (or expired) discovery.
	ErrDiscoveryNotFound = errors.New("discovery not found")
	// ErrDiscoveryStopped is a discovery asked of a keeper that is not running.
	ErrDiscoveryStopped = errors.New("discovery is not running on this node")
)

// DiscoverRequest is what to discover.
type DiscoverRequest struct {
	Host string
	// Ports and Transports narrow the probes; empty means the defaults.
	Ports      []int
	Transports []string
}

// SRVRecord is one SRV answer.
type SRVRecord struct {
	Name     string // _sip._udp.example.com
	Target   string
	Port     int
	Priority int
	Weight   int
}

// DiscoveryAttempt is one probe.
type DiscoveryAttempt struct {
	Address   string // the IP probed
	Port      int
	Transport string
	// FromSRV is set when an SRV record named this endpoint.
	FromSRV bool
	// Answered probes have a status, round trip and what the answer said.
	ResponseCode   int
	ResponseTime   time.Duration
	UserAgent      string
	DetectedSystem string
	Methods        []string
	Codecs         []string
	Error          string
}

// Recommended is the endpoint a trunk should use.
type Recommended struct {
	Address, Transport, DetectedSystem string
	Port                               int
	Methods, Codecs                    []string
}

// Discovery is one discovery's state; a copy is handed out.
type Discovery struct {
	ID, AccountID, Host, Status string
	ResolvedAddresses           []string
	SRVRecords                  []SRVRecord
	Attempts                    []DiscoveryAttempt
	ProbesDone, ProbesTotal     int
	Recommended                 *Recommended
	Error                       string
	StartedAt, CompletedAt      time.Time
}

// Discoverer runs discoveries: each in a goroutine owned by Run, which
// cancels them when its context ends and waits for them.
type Discoverer struct {
	ping     Pinger
	resolver *net.Resolver
	log      *slog.Logger
	timeout  time.Duration

	mu   sync.Mutex
	ctx  context.Context // Run's; nil before Run and after it returns
	wg   sync.WaitGroup
	byID map[string]*Discovery
}

// NewDiscoverer makes a discoverer; resolver nil is the system's.
func NewDiscoverer(p Pinger, resolver *net.Resolver, log *slog.Logger) *Discoverer {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	if log == nil {
		log = slog.Default()
	}
	return &Discoverer{ping: p, resolver: resolver, log: log, timeout: DiscoveryTimeout, byID: map[string]*Discovery{}}
}

// Resolver is a resolver that asks the DNS server at addr (host:port)
// over UDP (TCP when the client asks for it) instead of the system's.
func Resolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// Run owns the discoveries until ctx ends, then waits for them to stop.
func (d *Discoverer) Run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	<-ctx.Done()
	d.mu.Lock()
	d.ctx = nil
	d.mu.Unlock()
	d.wg.Wait()
}

// Start begins a discovery for the account and returns its first state.
func (d *Discoverer) Start(accountID string, req DiscoverRequest) (Discovery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return Discovery{}, ErrDiscoveryStopped
	}
	now := time.Now()
	for id, x := range d.byID {
		if x.Status != DiscoveryRunning && now.Sub(x.CompletedAt) > discoveryTTL {
			delete(d.byID, id)
		} else if x.AccountID == accountID && x.Status == DiscoveryRunning {
			return Discovery{}, fmt.Errorf("%w (%s)", ErrDiscoveryRunning, x.ID)
		}
	}
	x := &Discovery{ID: "disc_" + strings.ReplaceAll(uuid.NewString(), "-", ""), AccountID: accountID,
		Host: req.Host, Status: DiscoveryRunning, StartedAt: now}
	d.byID[x.ID] = x
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		d.run(ctx, x, req)
	}()
	return x.copy(), nil
}

// Status is the account's discovery id as it stands.
func (d *Discoverer) Status(accountID, id string) (Discovery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.byID[id]
	if !ok || x.AccountID != accountID {
		return Discovery{}, ErrDiscoveryNotFound
	}
	return x.copy(), nil
}

func (x *Discovery) copy() Discovery {
	c := *x
	c.ResolvedAddresses = slices.Clone(x.ResolvedAddresses)
	c.SRVRecords = slices.Clone(x.SRVRecords)
	c.Attempts = slices.Clone(x.Attempts)
	if x.Recommended != nil {
		r := *x.Recommended
		c.Recommended = &r
	}
	return c
}

type target struct {
	addr      netip.Addr
	port      int
	transport string
	srv       bool
}

func (d *Discoverer) run(ctx context.Context, x *Discovery, req DiscoverRequest) {
	log := d.log.With("discoveryId", x.ID, "accountId", x.AccountID, "host", x.Host)
	addrs, srvs, targets, err := d.targets(ctx, req)
	d.mu.Lock()
	x.ResolvedAddresses, x.SRVRecords, x.ProbesTotal = addrs, srvs, len(targets)
	x.Attempts = make([]DiscoveryAttempt, 0, len(targets))
	d.mu.Unlock()
	if err == nil && len(targets) == 0 {
		err = errors.New("nothing to probe: the host has no address")
	}
	if err != nil {
		d.finish(x, err)
		log.Info("sip discovery failed", "error", err)
		return
	}
	sem := make(chan struct{}, maxProbes)
	var wg sync.WaitGroup
	for _, tg := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a := d.probe(ctx, tg)
			d.mu.Lock()
			x.Attempts = append(x.Attempts, a)
			x.ProbesDone++
			d.mu.Unlock()
		}()
	}
	wg.Wait()
	d.finish(x, nil)
	log.Info("sip discovery completed", "probes", x.ProbesDone, "recommended", x.Recommended != nil)
}

func (d *Discoverer) finish(x *Discovery, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x.CompletedAt = time.Now()
	if err != nil {
		x.Status, x.Error = DiscoveryFailed, err.Error()
		return
	}
	x.Status = DiscoveryCompleted
	slices.SortStableFunc(x.Attempts, func(a, b DiscoveryAttempt) int {
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return transportRank(a.Transport) - transportRank(b.Transport)
	})
	x.Recommended = recommend(x.Attempts)
}

// targets resolves the host and lists the endpoints to probe: the SRV
// records' first, then every address on every asked port and transport.
func (d *Discoverer) targets(ctx context.Context, req DiscoverRequest) ([]string, []SRVRecord, []target, error) {
	ports, transports := req.Ports, req.Transports
	if len(ports) == 0 {
		ports = DefaultDiscoveryPorts
	}
	if len(transports) == 0 {
		transports = DiscoveryTransports
	}
	var addrs []netip.Addr
	var srvs []SRVRecord
	var out []target
	seen := map[target]bool{}
	add := func(t target) {
		k := t
		k.srv = false
		if !seen[k] && len(out) < MaxDiscoveryProbes {
			seen[k] = true
			out = append(out, t)
		}
	}
	if ip, err := netip.ParseAddr(req.Host); err == nil {
		addrs = []netip.Addr{ip.Unmap()}
	} else {
		for _, s := range []struct{ service, proto, transport string }{{"sip", "udp", "udp"}, {"sip", "tcp", "tcp"}, {"sips", "tcp", "tls"}} {
			if !slices.Contains(transports, s.transport) {
				continue
			}
			_, recs, err := d.resolver.LookupSRV(ctx, s.service, s.proto, req.Host)
			if err != nil {
				continue // no such record is the usual case
			}
			for _, r := range recs {
				name := "_" + s.service + "._" + s.proto + "." + req.Host
				srvs = append(srvs, SRVRecord{Name: name, Target: strings.TrimSuffix(r.Target, "."), Port: int(r.Port), Priority: int(r.Priority), Weight: int(r.Weight)})
				ips, err := d.lookup(ctx, r.Target)
				if err != nil {
					continue
				}
				for _, ip := range ips {
					add(target{addr: ip, port: int(r.Port), transport: s.transport, srv: true})
				}
			}
		}
		ips, err := d.lookup(ctx, req.Host)
		if err != nil && len(srvs) == 0 {
			return nil, srvs, nil, fmt.Errorf("resolve %s: %w", req.Host, err)
		}
		addrs = ips
	}
	for _, ip := range addrs {
		for _, p := range ports {
			for _, tr := range transports {
				add(target{addr: ip, port: p, transport: tr})
			}
		}
	}
	strs := make([]string, 0, len(addrs))
	for _, a := range addrs {
		strs = append(strs, a.String())
	}
	return strs, srvs, out, nil
}

func (d *Discoverer) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(ips), nil
}

func (d *Discoverer) probe(ctx context.Context, t target) DiscoveryAttempt {
	a := DiscoveryAttempt{Address: t.addr.String(), Port: t.port, Transport: t.transport, FromSRV: t.srv}
	ctx, cancel := context.WithTimeout(ctx, discoveryProbeTimeout)
	defer cancel()
	uri := "sip:" + net.JoinHostPort(t.addr.String(), strconv.Itoa(t.port)) + ";transport=" + t.transport
	p, err := d.ping.Ping(ctx, uri)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.ResponseCode, a.ResponseTime, a.UserAgent = p.Status, p.RTT, p.Server
	a.DetectedSystem = DetectSystem(p.Server)
	a.Methods = methods(p.Allow)
	if strings.HasPrefix(strings.ToLower(p.ContentType), "application/sdp") || strings.HasPrefix(string(p.Body), "v=0") {
		a.Codecs = SDPCodecs(string(p.Body))
	}
	return a
}

func transportRank(t string) int {
	switch t {
	case "tls":
		return 0
	case "tcp":
		return 1
	}
	return 2
}

// recommend picks the best answered attempt: a 2xx over any other final
// answer, then one an SRV record named, then TLS over TCP over UDP, then
// the faster.
func recommend(as []DiscoveryAttempt) *Recommended {
	var best *DiscoveryAttempt
	better := func(a, b *DiscoveryAttempt) bool {
		if a2, b2 := a.ResponseCode/100 == 2, b.ResponseCode/100 == 2; a2 != b2 {
			return a2
		}
		if a.FromSRV != b.FromSRV {
			return a.FromSRV
		}
		if ra, rb := transportRank(a.Transport), transportRank(b.Transport); ra != rb {
			return ra < rb
		}
		return a.ResponseTime < b.ResponseTime
	}
	for i := range as {
		if as[i].ResponseCode == 0 {
			continue
		}
		if best == nil || better(&as[i], best) {
			best = &as[i]
		}
	}
	if best == nil {
		return nil
	}
	return &Recommended{Address: best.Address, Port: best.Port, Transport: best.Transport,
		DetectedSystem: best.DetectedSystem, Methods: best.Methods, Codecs: best.Codecs}
}

// systems maps a Server or User-Agent substring (lower case) to the
// system's name; the first match wins, so more specific names come first.
var systems = []struct{ match, name string }{
	{"freepbx", "FreePBX"}, {"asterisk", "Asterisk"}, {"freeswitch", "FreeSWITCH"},
	{"kamailio", "Kamailio"}, {"opensips", "OpenSIPS"}, {"3cx", "3CX"},
	{"cisco", "Cisco"}, {"avaya", "Avaya"}, {"acme packet", "Oracle SBC"}, {"oracle", "Oracle SBC"},
	{"ribbon", "Ribbon SBC"}, {"sonus", "Ribbon SBC"}, {"audiocodes", "AudioCodes"},
	{"microsoft.pstnhub", "Microsoft Teams"}, {"twilio", "Twilio"}, {"mitel", "Mitel"},
	{"yealink", "Yealink"}, {"polycom", "Polycom"}, {"grandstream", "Grandstream"},
	{"sipp", "SIPp"}, {"wasmvoice", "wasmvoice"},
}

// DetectSystem names the software behind a Server or User-Agent header:
// a known system, else the header's first word without its version, ""
// for none.
func DetectSystem(server string) string {
	l := strings.ToLower(server)
	for _, s := range systems {
		if strings.Contains(l, s.match) {
			return s.name
		}
	}
	f := strings.Fields(server)
	if len(f) == 0 {
		return ""
	}
	name, _, _ := strings.Cut(f[0], "/")
	return name
}

func methods(allow string) []string {
	var out []string
	for m := range strings.SplitSeq(allow, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// staticPayloads are the RTP/AVP static payload types an SDP may list
// without an rtpmap.
var staticPayloads = map[string]string{"0": "PCMU", "3": "GSM", "4": "G723", "8": "PCMA", "9": "G722", "18": "G729"}

// SDPCodecs lists the audio codecs an SDP offers, in its order:
// rtpmap encoding names, and the static payload types without one.
func SDPCodecs(sdp string) []string {
	rtpmap := map[string]string{}
	var fmts []string
	audio := false
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "m="):
			f := strings.Fields(line[2:])
			audio = len(f) > 3 && f[0] == "audio"
			if audio {
				fmts = append(fmts, f[3:]...)
			}
		case audio && strings.HasPrefix(line, "a=rtpmap:"):
			pt, enc, ok := strings.Cut(line[len("a=rtpmap:"):], " ")
			if ok {
				name, _, _ := strings.Cut(enc, "/")
				rtpmap[pt] = name
			}
		}
	}
	var out []string
	for _, pt := range fmts {
		name := rtpmap[pt]
		if name == "" {
			name = staticPayloads[pt]
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
