package media

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// normalize replaces what changes run to run (session id, port, key).
func normalize(b []byte, port int) string {
	s := string(b)
	s = regexp.MustCompile(`o=wasmvoice \d+ `).ReplaceAllString(s, "o=wasmvoice SESSID ")
	s = regexp.MustCompile(`inline:[A-Za-z0-9+/=]+`).ReplaceAllString(s, "inline:KEY")
	s = strings.ReplaceAll(s, "m=audio "+strconv.Itoa(port)+" ", "m=audio PORT ")
	return s
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Fatalf("%s mismatch:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestAnswerGolden(t *testing.T) {
	needCodecLibs(t) // the goldens offer and accept Opus and G.729
	m := newTestManager(t, func(c *Config) { c.AdvertisedIP = mustAddr("203.0.113.1") })
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	offers, _ := filepath.Glob("testdata/sdp/*.offer")
	if len(offers) == 0 {
		t.Fatal("no golden offers")
	}
	for _, path := range offers {
		name := strings.TrimSuffix(filepath.Base(path), ".offer")
		t.Run(name, func(t *testing.T) {
			offer, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.NewLeg(name)
			if err != nil {
				t.Fatal(err)
			}
			ans, err := l.Answer(offer, AnswerOptions{})
			var got string
			if err != nil {
				if !errors.Is(err, ErrNotAcceptable) {
					t.Fatalf("error %v does not wrap ErrNotAcceptable", err)
				}
				got = "error: " + err.Error() + "\n"
			} else {
				got = normalize(ans, l.Port())
			}
			golden(t, strings.TrimSuffix(path, ".offer")+".answer", got)
		})
	}
}

func TestNoUsableCodecIsSentinel(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	l, _ := s.NewLeg("x")
	offer, _ := os.ReadFile("testdata/sdp/gsm-only.offer")
	_, err := l.Answer(offer, AnswerOptions{})
	if !errors.Is(err, ErrNoCommonCodec) || !errors.Is(err, ErrNotAcceptable) {
		t.Fatalf("err = %v", err)
	}
	if _, err := l.Answer([]byte("garbage"), AnswerOptions{}); !errors.Is(err, ErrBadSDP) || !errors.Is(err, ErrNotAcceptable) {
		t.Fatalf("garbage: %v", err)
	}
}

// Outbound leg: our offer, the remote's answer, and the peer's codec first.
func TestOfferSetAnswer(t *testing.T) {
	needCodecLibs(t)
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	caller := newPeer(t, false)
	a := caller.answered(t, s, "caller", "8", "101 telephone-event/8000")
	b, _ := s.NewLeg("callee")
	offer, err := b.Offer(OfferOptions{SRTP: true, Peer: a})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/sdp/outbound-srtp.offer.golden", normalize(offer, b.Port()))

	callee := newPeer(t, true)
	callee.useAnswer(offer)
	answer := callee.offer("8", "101 telephone-event/8000") // same shape as an answer
	if err := b.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Codec(); c.Name != "PCMA" || !b.Secure() {
		t.Fatalf("negotiated %s secure=%v", c.Name, b.Secure())
	}
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	caller.send(8, true, payload160(9))
	p, err := callee.recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 8 || string(p.Payload) != string(payload160(9)) {
		t.Fatalf("PT %d", p.PayloadType)
	}
	// A plain answer to an SRTP offer is refused.
	if err := b.SetAnswer(newPeer(t, false).offer("8")); !errors.Is(err, ErrNotAcceptable) {
		t.Fatalf("plain answer to SAVP offer: %v", err)
	}
}

func FuzzParseRemote(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/sdp/*.offer")
	for _, p := range seeds {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rm, err := parseRemote(b)
		if err != nil {
			if !errors.Is(err, ErrNotAcceptable) {
				t.Fatalf("error %v does not wrap ErrNotAcceptable", err)
			}
			return
		}
		n, err := choose(rm.codecs, nil, nil)
		if err != nil {
			return
		}
		codecs := []Codec{n.audio}
		if n.hasDTMF {
			codecs = append(codecs, n.dtmf)
		}
		out, err := localDesc{ip: mustAddr("192.0.2.1"), port: 30000, proto: rm.proto, codecs: codecs,
			dir: answerDirection(rm.dir), rejected: rm.mLines, mIndex: rm.mIndex}.render()
		if err != nil {
			return
		}
		if _, err := parseRemote(out); err != nil {
			t.Fatalf("our own answer does not parse: %v\n%s", err, out)
		}
	})
}

func FuzzDTMFDetector(f *testing.F) {
	f.Add(uint32(1), []byte{1, 10, 0, 160}, uint32(1), []byte{1, 0x8a, 1, 64})
	f.Add(uint32(1), []byte{}, uint32(2), []byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, ts1 uint32, p1 []byte, ts2 uint32, p2 []byte) {
		var d dtmfDetector
		total := 0
		for _, step := range []struct {
			ts uint32
			p  []byte
		}{{ts1, p1}, {ts2, p2}, {ts2, p2}} {
			evs, n := d.feed(step.ts, step.p)
			for _, ev := range evs[:n] {
				if !strings.ContainsRune(dtmfDigits, ev.Digit) {
					t.Fatalf("digit %q", ev.Digit)
				}
			}
			total += n
		}
		if total > 2 {
			t.Fatalf("%d digits from at most two events", total)
		}
	})
}

func FuzzCleanSSML(f *testing.F) {
	f.Add(`<speak>Hi <amazon:effect name="x">there</amazon:effect><break time="1s"/></speak>`)
	f.Add(`<<<>>>`)
	f.Fuzz(func(t *testing.T, s string) {
		out := CleanSSML(s)
		for _, m := range ssmlTag.FindAllStringSubmatch(out, -1) {
			if !espeakSSML[strings.ToLower(m[2])] {
				t.Fatalf("tag %q survived: %q", m[2], out)
			}
		}
	})
}

// A re-INVITE with the same address and key keeps the latch and the SRTP
// state; a new address reopens latching.
func TestReofferKeepsLatchAndKeys(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x := newPeer(t, true)
	l := x.answered(t, s, "a", "0")
	st1 := l.st.Load()
	x.send(0, true, payload160(1))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, latched := l.RemoteAddr(); latched {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never latched")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ans2, err := l.Answer(x.offer("0"), AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, latched := l.RemoteAddr(); !latched {
		t.Fatal("re-offer with the same address dropped the latch")
	}
	if l.st.Load().srtp != st1.srtp {
		t.Fatal("re-offer with the same key rebuilt the SRTP contexts")
	}
	if !strings.Contains(string(ans2), "o=wasmvoice ") || !strings.Contains(string(ans2), " 2 IN IP4 ") {
		t.Fatalf("session version not incremented:\n%s", ans2)
	}
	y := newPeer(t, true) // moved to a new address with a new key
	if _, err := l.Answer(y.offer("0"), AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, latched := l.RemoteAddr(); latched {
		t.Fatal("new address kept the old latch")
	}
	if l.st.Load().srtp == st1.srtp {
		t.Fatal("new key kept old SRTP contexts")
	}
}
