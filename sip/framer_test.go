package sip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

const frameMsg1 = "INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:b@example.com>;tag=1\r\n" +
	"To: <sip:a@example.com>\r\nCall-ID: f1\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\n"
const frameMsg2 = "OPTIONS sip:a@example.com SIP/2.0\r\nl: 0\r\n\r\n"

// feedAll runs data through a framer in chunks of n bytes and returns what
// it passes on and how many messages.
func feedAll(t *testing.T, f *framer, data string, n int) (string, int, error) {
	t.Helper()
	var out []byte
	msgs := 0
	for i := 0; i < len(data); i += n {
		frames, err := f.feed(nil, []byte(data[i:min(i+n, len(data))]), time.Now())
		for _, fr := range frames {
			out = append(out, fr.data...)
			if !fr.keepalive {
				msgs++
			}
		}
		if err != nil {
			return string(out), msgs, err
		}
	}
	return string(out), msgs, nil
}

// Messages pass unchanged whatever the read boundaries; keep-alive CRLFs
// between them pass too; the framer ends idle.
func TestFramerBoundaries(t *testing.T) {
	in := "\r\n\r\n" + frameMsg1 + frameMsg2 + "\r\n"
	for n := 1; n <= len(in); n++ {
		f := &framer{max: 4096}
		out, started, err := feedAll(t, f, in, n)
		if err != nil || out != in || started != 2 || f.inMessage() {
			t.Fatalf("chunks of %d: %d started, err %v, in message %v\n%q", n, started, err, f.inMessage(), out)
		}
	}
}

// Bytes that cannot begin a message are dropped (and never reach sipgo's
// stream parser); the messages around them pass.
func TestFramerDropsJunk(t *testing.T) {
	in := frameMsg1 + "garbage that is not SIP\r\n\x00\x01\x02 more\r\n" + frameMsg2
	f := &framer{max: 4096}
	out, started, err := feedAll(t, f, in, 7)
	if err != nil || out != frameMsg1+frameMsg2 || started != 2 {
		t.Fatalf("%d started, err %v\n%q", started, err, out)
	}
	// Endless junk ends the connection.
	f = &framer{max: 100}
	if _, _, err := feedAll(t, f, strings.Repeat("junk line\r\n", 50), 64); !errors.Is(err, errJunk) {
		t.Fatalf("endless junk: %v", err)
	}
	f = &framer{max: 4096}
	if _, _, err := feedAll(t, f, strings.Repeat("x", maxStartLine+1), 512); !errors.Is(err, errJunk) {
		t.Fatalf("endless start line: %v", err)
	}
}

func TestFramerTooLarge(t *testing.T) {
	big := strings.Replace(frameMsg1, "Content-Length: 4", "Content-Length: 100000", 1)
	f := &framer{max: 4096}
	if _, _, err := feedAll(t, f, big, 100); !errors.Is(err, errMessageTooLarge) {
		t.Fatalf("large body: %v", err)
	}
	resp := errorResponse(f.header(), 513, "Message Too Large")
	for _, want := range []string{"SIP/2.0 513 Message Too Large\r\n", "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n", "Call-ID: f1\r\n", "CSeq: 1 INVITE\r\n", "Content-Length: 0\r\n\r\n"} {
		if !bytes.Contains(resp, []byte(want)) {
			t.Fatalf("513 lacks %q:\n%s", want, resp)
		}
	}
	f = &framer{max: 200}
	if _, _, err := feedAll(t, f, "OPTIONS sip:a SIP/2.0\r\nX-Long: "+strings.Repeat("a", 300)+"\r\n\r\n", 50); !errors.Is(err, errMessageTooLarge) {
		t.Fatalf("large header: %v", err)
	}
	f = &framer{max: 4096}
	if _, _, err := feedAll(t, f, "OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n", 50); !errors.Is(err, errBadLength) {
		t.Fatalf("two Content-Lengths: %v", err)
	}
	if resp := errorResponse([]byte("SIP/2.0 200 OK\r\nVia: x\r\n"), 513, "Message Too Large"); resp != nil {
		t.Fatal("a response to a response")
	}
}

func TestPlausibleStartLine(t *testing.T) {
	for line, want := range map[string]bool{
		"INVITE sip:a@b SIP/2.0\r\n":              true,
		"SIP/2.0 200 OK\r\n":                      true,
		"!interesting-Method sip:x SIP/2.0\r\n":   true,
		"GET / HTTP/1.1\r\n":                      false,
		"\x16\x03\x01\x02\x00\r\n":                false,
		"INVITE\r\n":                              false,
		"IN VITE sip:a SIP/2.0\r\n":               true, // sanitize answers 400
		"INVITE sip:alan@example.com\r\n":         true, // no version: 400 too
		"INV<ITE sip:a SIP/2.0\r\n":               false,
		"OPTIONS nobody:opaque SIP/2.0\r\n":       true,
		"OPTIONS sip:remote@example.com SIP/7.0 ": true,
	} {
		if got := plausibleStartLine([]byte(line)); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte(frameMsg1+frameMsg2), 5)
	f.Add([]byte("\r\n\r\njunk\r\n"+frameMsg2), 3)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n <= 0 || n > len(data)+1 {
			n = len(data) + 1
		}
		fr := &framer{max: 1 << 12}
		out := 0
		total := 0
		for i := 0; i < len(data); i += n {
			chunk := data[i:min(i+n, len(data))]
			total += len(chunk)
			frames, err := fr.feed(nil, chunk, time.Now())
			for _, f := range frames {
				out += len(f.data)
				if !f.keepalive {
					if _, v := sanitize(f.data, false); v.status == 0 && len(f.data) > fr.max {
						t.Fatalf("a %d-byte message passed", len(f.data))
					}
				}
			}
			if err != nil {
				return
			}
		}
		// The framer passes bytes in order and never invents any.
		if out > total {
			t.Fatalf("%d bytes out of %d in", out, total)
		}
	})
}
