package sip

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// optionsMsg is a well-formed OPTIONS for transport from laddr.
func optionsMsg(transport, laddr, target string, seq int) []byte {
	return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;branch=z9hG4bK-opt-%d-%d;rport\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=probe%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: probe-%d-%d@127.0.0.1\r\n"+
		"CSeq: %d OPTIONS\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", target, transport, laddr, seq, time.Now().UnixNano(), seq, target, seq, time.Now().UnixNano(), seq))
}

// malformedBatch is garbage, oversized and inconsistent messages.
func malformedBatch(t *testing.T, target string) [][]byte {
	t.Helper()
	random := make([]byte, 1200)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	huge := "INVITE sip:" + appPassword + "@" + target + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-huge\r\n" +
		"X-Huge: " + strings.Repeat("A", 60000) + "\r\nContent-Length: 0\r\n\r\n"
	manyHeaders := "OPTIONS sip:" + target + " SIP/2.0\r\n" + strings.Repeat("X-H: v\r\n", 5000) + "Content-Length: 0\r\n\r\n"
	base := func(cl string, body string) []byte {
		return []byte("INVITE sip:" + appPassword + "@" + target + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-cl" + cl + "\r\n" +
			"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:" + appPassword + "@" + target + ">\r\n" +
			"Call-ID: bad-cl-" + cl + "\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" +
			"Content-Length: " + cl + "\r\n\r\n" + body)
	}
	return [][]byte{
		[]byte("\x00\x01\x02garbage\xff\xfe"),
		random,
		[]byte("NOT SIP AT ALL\r\n\r\n"),
		[]byte("INVITE\r\n\r\n"),
		[]byte("INVITE sip: SIP/2.0\r\nVia: \r\nCSeq: x\r\n\r\n"),
		[]byte("SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n"), // stray response
		[]byte(huge),
		[]byte(manyHeaders),
		base("-5", ""),
		base("abc", ""),
		base("99999999999999999999", "short"),
		base("10", "v=0"), // declares more than is sent
		base("0", "trailing body bytes"),
		[]byte("\r\n\r\n"),
	}
}

// TestMalformedUDP: a batch of malformed datagrams never stops the UDP
// listener; a good OPTIONS afterwards still gets 200 Keepalive.
func TestMalformedUDP(t *testing.T) {
	env := newTestEnv(t)
	conn, err := net.Dial("udp", env.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, m := range malformedBatch(t, env.udp) {
		if len(m) > 65000 {
			m = m[:65000]
		}
		if _, err := conn.Write(m); err != nil {
			t.Logf("write: %v", err) // oversize datagrams may be refused locally
		}
	}
	expectKeepalive(t, conn, "UDP", env.udp)
}

// TestMalformedTCP: the same batch over TCP, each on its own connection
// and all on one; then a good OPTIONS on a fresh connection gets 200.
func TestMalformedTCP(t *testing.T) {
	env := newTestEnv(t)
	batch := malformedBatch(t, env.tcp)
	for _, m := range batch {
		c, err := net.Dial("tcp", env.tcp)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(m)
		c.Close()
	}
	c, err := net.Dial("tcp", env.tcp)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range batch {
		if _, err := c.Write(m); err != nil {
			break // the server may drop a connection that sent garbage
		}
	}
	c.Close()
	// A connection that sends half a message and stalls must not block others.
	stalled, err := net.Dial("tcp", env.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	_, _ = stalled.Write([]byte("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-stall\r\n"))

	good, err := net.Dial("tcp", env.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	expectKeepalive(t, good, "TCP", env.tcp)
}

func expectKeepalive(t *testing.T, conn net.Conn, transport, target string) {
	t.Helper()
	buf := make([]byte, 65536)
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if _, err := conn.Write(optionsMsg(transport, conn.LocalAddr().String(), target, i)); err != nil {
			t.Fatalf("write OPTIONS: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		var got []byte
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break
			}
			got = append(got, buf[:n]...)
			if bytes.Contains(got, []byte("SIP/2.0 200 Keepalive\r\n")) {
				return
			}
		}
	}
	t.Fatal("no 200 Keepalive after the malformed batch")
}

func TestUDPReceiveBuffer(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, err := enlargeUDPBuffer(conn, udpReadBuffer)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("UDP receive buffer: %d bytes (asked %d)", got, udpReadBuffer)
	if got <= 0 {
		t.Fatalf("buffer %d", got)
	}
}
