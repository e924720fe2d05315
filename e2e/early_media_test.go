package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// rtpArrival is a packet the caller's media socket received, and when.
type rtpArrival struct {
	at  time.Time
	pcm []byte // 16-bit little-endian, decoded from PCMU
}

// A caller (sipp, its SDP naming the test's RTP socket) hears early media:
// <Ring answerCall="false"> sends 183 Session Progress with SDP and
// ringback, the SpeakSentence after it plays before the answer too, and
// only the Gather answers (200). The socket gets ringback and speech before
// the 200 OK left (the call's SIP trace says when).
func TestEarlyMediaBeforeAnswer(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	s := startServer(t)
	const doc = `<Response><Ring answerCall="false" duration="1.5"/><SpeakSentence>Thank you for calling. Please hold.</SpeakSentence>` +
		`<Gather maxDigits="1" firstDigitTimeout="1"/><Hangup/></Response>`
	h := newHook(t, func(path string, _ map[string]any) string {
		if path == "/initiate" {
			return doc
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	media, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []rtpArrival
	reading := testenv.Go(t, func(ctx context.Context) error {
		context.AfterFunc(ctx, func() { media.Close() })
		buf := make([]byte, 1500)
		for {
			n, err := media.Read(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return nil
				}
				return err
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
				continue
			}
			pcm := make([]byte, 0, 2*len(p.Payload))
			for _, v := range g711.DecodeUlawBuf(nil, p.Payload) {
				pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
			}
			mu.Lock()
			got = append(got, rtpArrival{at: time.Now(), pcm: pcm})
			mu.Unlock()
		}
	})

	port := media.LocalAddr().(*net.UDPAddr).Port
	uac := startSipp(t, "early_media.xml", map[string]int{"MediaPort": port}, s.sip, "-s", appID, "-au", appID, "-ap", pw)
	uac.wait(t, 40*time.Second)
	initiate, ok := h.wait("initiate", 10*time.Second)
	if !ok {
		t.Fatalf("no initiate callback; got %v", h.types())
	}
	callID, _ = initiate["callId"].(string)
	if _, ok := h.wait("disconnect", 10*time.Second); !ok {
		t.Fatalf("no disconnect callback; got %v", h.types())
	}
	media.Close()
	if err := <-reading; err != nil {
		t.Fatal(err)
	}

	// When the 200 OK left, from the call's SIP trace; the 183 with SDP
	// must have left before it.
	trace, code := s.sipTrace(callID)
	if code != 200 {
		t.Fatalf("call log: HTTP %d", code)
	}
	var sent183 bool
	var ok200 time.Time
	for _, m := range trace {
		if m.Direction != "out" {
			continue
		}
		switch {
		case strings.HasPrefix(m.Message, "SIP/2.0 183") && strings.Contains(m.Message, "m=audio"):
			sent183 = true
		case strings.HasPrefix(m.Message, "SIP/2.0 200") && strings.Contains(m.Message, "INVITE") && ok200.IsZero():
			if ok200, err = time.Parse(time.RFC3339Nano, m.Time); err != nil {
				t.Fatalf("trace time %q: %v", m.Time, err)
			}
			if !sent183 {
				t.Errorf("the 200 OK left before any 183 with SDP:\n%s", s.callTrace(callID))
			}
		}
	}
	if ok200.IsZero() {
		t.Fatalf("no 200 OK to the INVITE in the trace:\n%s", s.callTrace(callID))
	}
	var ring, speech []byte
	var early int
	mu.Lock()
	for _, p := range got {
		if !p.at.Before(ok200) {
			continue
		}
		early++
		if toneShare(p.pcm, 8000, 440)+toneShare(p.pcm, 8000, 480) > 0.5 {
			ring = append(ring, p.pcm...)
		} else if rms(p.pcm) > 300 {
			speech = append(speech, p.pcm...)
		}
	}
	total := len(got)
	mu.Unlock()
	t.Logf("%d RTP packets, %d before the 200 OK at %s: %d ms of ringback, %d ms of speech",
		total, early, ok200.Format(time.RFC3339Nano), len(ring)/16, len(speech)/16)
	// The ringback's first 1.5 s holds 1 s of tone (2 s on, 4 s off, from
	// the start), the announcement about 2 s of speech.
	if len(ring)/16 < 800 {
		t.Errorf("heard %d ms of ringback before the 200 OK, want about 1500", len(ring)/16)
	}
	if len(speech)/16 < 500 {
		t.Errorf("heard %d ms of speech before the 200 OK, want the announcement", len(speech)/16)
	}
}
