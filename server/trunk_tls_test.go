package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
)

// testCert makes a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "provider.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"provider.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// srtpPeer is a SIP peer on a TLS listener that answers an SRTP offer with
// media from its own media.Manager, as a provider's SBC would.
type srtpPeer struct {
	addr  string
	calls chan srtpCall
}

type srtpCall struct {
	in     *sip.InboundCall
	offer  []byte
	answer []byte
	leg    *media.Leg
}

func newSRTPPeer(t *testing.T, cert tls.Certificate) *srtpPeer {
	t.Helper()
	lo, hi := rtpPorts()
	mm, err := media.NewManager(media.Config{AdvertisedIP: netip.MustParseAddr("127.0.0.1"), BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: lo, PortMax: hi, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	p := &srtpPeer{calls: make(chan srtpCall, 1)}
	h := sip.HandlerFunc(func(ctx context.Context, c *sip.InboundCall) {
		sess := mm.NewSession(media.SessionOptions{Logger: testLogger(t)})
		defer sess.Close()
		leg, err := sess.NewLeg("provider")
		if err != nil {
			t.Errorf("peer leg: %v", err)
			c.Reject(500, "Server Internal Error")
			return
		}
		offer := c.Request.Body()
		answer, err := leg.Answer(offer, media.AnswerOptions{})
		if err != nil {
			t.Errorf("peer answer to %q: %v", offer, err)
			c.Reject(488, "Not Acceptable Here")
			return
		}
		if err := c.Answer(ctx, answer); err != nil {
			t.Errorf("peer 200 OK: %v", err)
			return
		}
		p.calls <- srtpCall{in: c, offer: offer, answer: answer, leg: leg}
		<-ctx.Done()
	})
	srv, err := sip.NewServer(sip.Config{Domain: "provider.test", Region: "US", AdvertisedHost: "127.0.0.1",
		NonceKey: []byte("peer-key-peer-key-peer-key-peer0"), Logger: testLogger(t)}, anyApp{}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ListenAndServeTLS(ctx, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	}()
	for deadline := time.Now().Add(5 * time.Second); len(srv.Listeners()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("peer did not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.addr = srv.Listeners()[0].Addr
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		scancel()
		cancel()
		<-done
	})
	return p
}

// An outbound call to a number whose trunk says transport tls and
// secure_media goes over TLS with an SDES SRTP offer, and completes.
func TestTrunkOutboundTLSSRTP(t *testing.T) {
	cert, pool := testCert(t)
	peer := newSRTPPeer(t, cert)
	n := startNode(t, func(c *Config) { c.SIPClientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12} })
	n.attachSIP(t, map[string]any{
		"phone_number": "+14155550177",
		"directions": []any{map[string]any{
			"type": "outbound", "sip_endpoint": "sip:" + peer.addr + ";transport=tls",
			"options": map[string]any{"transport": "tls", "secure_media": true},
		}},
	})
	h := newHook(t, func(ev event) string {
		if ev.Path == "/answer" {
			return `<Response><Pause duration="1"/><Hangup/></Response>`
		}
		return ""
	})
	appID, _ := n.app(t, map[string]any{})
	var created struct {
		CallID string `json:"callId"`
	}
	if code := n.call(t, "POST", "/api/v2/accounts/"+n.creds.AccountID+"/calls", map[string]any{
		"from": "+15550001111", "to": "+14155550177", "applicationId": appID,
		"answerUrl": h.url("/answer"), "disconnectUrl": h.url("/disconnect"),
	}, &created); code != 201 {
		t.Fatalf("createCall: %d", code)
	}
	var call srtpCall
	select {
	case call = <-peer.calls:
	case <-time.After(20 * time.Second):
		t.Fatal("the TLS peer was never called")
	}
	if call.in.Transport != "TLS" && !strings.EqualFold(call.in.Transport, "tls") {
		t.Errorf("peer got the INVITE over %s", call.in.Transport)
	}
	if !strings.Contains(string(call.offer), "RTP/SAVP") || !strings.Contains(string(call.offer), "a=crypto:") {
		t.Errorf("offer is not SDES SRTP:\n%s", call.offer)
	}
	if !strings.Contains(string(call.answer), "RTP/SAVP") || !call.leg.Secure() {
		t.Errorf("peer did not negotiate SRTP:\n%s", call.answer)
	}
	if ru := call.in.Request.Recipient.User; ru != "+14155550177" {
		t.Errorf("Request-URI user %q", ru)
	}
	answer := h.wait("answer", 10*time.Second)
	disc := h.wait("disconnect", 10*time.Second)
	if answer.Body["callId"] != created.CallID || disc.Body["cause"] != "hangup" {
		t.Errorf("answer %v, disconnect %v", answer.Body, disc.Body)
	}
	select {
	case <-call.in.Done():
	case <-time.After(10 * time.Second):
		t.Error("the peer's leg did not end after the node hung up")
	}
}
