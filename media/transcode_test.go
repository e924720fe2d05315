package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/opus"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

func needOpus(t testing.TB) {
	t.Helper()
	_, err := opus.Load()
	testenv.Need(t, "libopus (libopus0)", err)
}

func needG729(t testing.TB) {
	t.Helper()
	testenv.Need(t, "libbcg729 (libbcg729-0)", EnableG729())
}

// needCodecLibs is for tests whose expectations (offers, goldens) list every
// codec.
func needCodecLibs(t testing.TB) {
	t.Helper()
	needOpus(t)
	needG729(t)
}

func sine8k(freq float64, n, offset int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i+offset)/sampleRate))
	}
	return s
}

// toneShare is the share of pcm's energy at freq (Goertzel), 0..1.
func toneShare(pcm []int16, freq float64, rate int) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+c*s1-s2, s1
		total += x * x
	}
	if total == 0 {
		return 0
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (float64(len(pcm)) * total)
}

// stream sends n 20 ms packets of a sine encoded with enc from p, paced a
// little so the relay keeps up.
func (p *peer) stream(t *testing.T, pt uint8, enc PCMEncoder, freq float64, n int, tsStep uint32) {
	t.Helper()
	for i := range n {
		payload, err := enc.Encode(nil, sine8k(freq, frameSamples, i*frameSamples, 8000))
		if err != nil {
			t.Fatal(err)
		}
		p.sendTS(pt, i == 0, p.ts, payload)
		p.ts += tsStep
		time.Sleep(time.Millisecond)
	}
}

// decodeAll decodes received packets with dec and checks their payload type
// and timestamp step.
func decodeAll(t *testing.T, pkts []*rtp.Packet, dec PCMDecoder, pt uint8, tsStep uint32) []int16 {
	t.Helper()
	var pcm []int16
	for i, p := range pkts {
		if p.PayloadType != pt {
			t.Fatalf("packet %d has PT %d, want %d", i, p.PayloadType, pt)
		}
		if i > 0 && p.Timestamp-pkts[i-1].Timestamp != tsStep {
			t.Fatalf("packet %d: timestamp step %d, want %d", i, p.Timestamp-pkts[i-1].Timestamp, tsStep)
		}
		var err error
		if pcm, err = dec.Decode(pcm, p.Payload); err != nil {
			t.Fatal(err)
		}
	}
	return pcm
}

// closing returns v after checking err, and closes v when the test ends:
// closing[PCMEncoder](t)(NewPCMEncoder(c, rate)).
func closing[T interface{ Close() }](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v
	}
}

func mustEncoder(t testing.TB, c Codec) PCMEncoder {
	return closing[PCMEncoder](t)(NewPCMEncoder(c, sampleRate))
}

func mustDecoder(t testing.TB, c Codec) PCMDecoder {
	return closing[PCMDecoder](t)(NewPCMDecoder(c, sampleRate))
}

// widebandCases are the codecs a PCMU leg is transcoded to, with their
// payload type, RTP timestamp step per 20 ms, and telephone-event (whose
// durations count in the codec's clock).
var widebandCases = []struct {
	name      string
	format    string
	codec     Codec
	pt        uint8
	tsStep    uint32
	dtmf      string
	dtmfScale uint16
	need      func(testing.TB) // the library the codec needs, if any
}{
	{"G722", "9", CodecG722, 9, 160, "101 telephone-event/8000", 1, nil},
	{"Opus", "111 opus/48000/2", CodecOpus, 111, 960, "102 telephone-event/48000", 6, needOpus},
	{"G729", "18", CodecG729, 18, 160, "101 telephone-event/8000", 1, needG729},
}

// codecSession returns a session closed at the test's end, once need (if
// any) found the codec's library.
func codecSession(t *testing.T, need func(testing.TB)) *Session {
	t.Helper()
	if need != nil {
		need(t)
	}
	s := newTestManager(t, nil).NewSession(SessionOptions{})
	t.Cleanup(func() { s.Close() })
	return s
}

// A PCMU leg bridged to a leg that shares no codec with it: audio crosses
// both ways decoded and encoded again (a 1 kHz tone one way, 600 Hz the
// other), timestamps change clock, and a DTMF event keeps its meaning.
func TestBridgeTranscodes(t *testing.T) {
	for _, tc := range widebandCases {
		t.Run(tc.name, func(t *testing.T) {
			s := codecSession(t, tc.need)
			x, y := newPeer(t, false), newPeer(t, false)
			a := x.answered(t, s, "pcmu", "0", "101 telephone-event/8000")
			b := y.answered(t, s, tc.name, tc.format, tc.dtmf)
			if err := s.Bridge(a, b); err != nil {
				t.Fatal(err)
			}
			const n = 50
			// y first, so the relay latches it before x's stream arrives.
			y.stream(t, tc.pt, mustEncoder(t, tc.codec), 600, n, tc.tsStep)
			x.stream(t, 0, mustEncoder(t, CodecPCMU), 1000, n, 160)
			atX := decodeAll(t, x.recvN(n, 2*time.Second), mustDecoder(t, CodecPCMU), 0, 160)
			atY := decodeAll(t, y.recvN(n, 2*time.Second), mustDecoder(t, tc.codec), tc.pt, tc.tsStep)
			if len(atX) < n*frameSamples*9/10 || len(atY) < n*frameSamples*9/10 {
				t.Fatalf("received %d samples at the PCMU peer, %d at the %s peer", len(atX), len(atY), tc.name)
			}
			if r := toneShare(atY[len(atY)/2:], 1000, sampleRate); r < 0.8 {
				t.Errorf("1 kHz tone at the %s peer: share %.2f", tc.name, r)
			}
			if r := toneShare(atX[len(atX)/2:], 600, sampleRate); r < 0.8 {
				t.Errorf("600 Hz tone at the PCMU peer: share %.2f", r)
			}

			// DTMF '5' from the PCMU side, 800 ticks of 8 kHz.
			x.sendTS(101, true, x.ts, []byte{5, 0x8a, 0x03, 0x20})
			p, err := y.recv(2 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if p.PayloadType != b.st.Load().neg.dtmf.PayloadType || p.Payload[0] != 5 {
				t.Fatalf("DTMF arrived as PT %d payload %x", p.PayloadType, p.Payload)
			}
			if d := binary.BigEndian.Uint16(p.Payload[2:]); d != 800*tc.dtmfScale {
				t.Fatalf("DTMF duration %d, want %d", d, 800*tc.dtmfScale)
			}
		})
	}
}

// The endpoint plays and records on legs whose codec is not G.711: what it
// sends decodes to the tone played, and a recording holds the tone the
// remote sent.
func TestEndpointOnWidebandLegs(t *testing.T) {
	for _, tc := range widebandCases {
		t.Run(tc.name, func(t *testing.T) {
			s := codecSession(t, tc.need)
			x := newPeer(t, false)
			l := x.answered(t, s, tc.name, tc.format, "101 telephone-event/8000")
			path := filepath.Join(t.TempDir(), "rec.wav")
			rec, err := l.StartRecording(path, RecordOptions{Channels: 2})
			if err != nil {
				t.Fatal(err)
			}
			// What streams and real-time transcription hear: both
			// directions, decoded.
			var mu sync.Mutex
			listened := map[bool][]int16{}
			stop, ok := l.Listen(func(out bool, pcm []int16) {
				mu.Lock()
				listened[out] = append(listened[out], pcm...)
				mu.Unlock()
			})
			if !ok {
				t.Fatal("Listen refused the leg")
			}
			x.stream(t, tc.pt, mustEncoder(t, tc.codec), 700, 25, tc.tsStep)
			if err := l.PlayPCM(context.Background(), sine8k(1200, sampleRate/2, 0, 8000), PlayOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := rec.Stop()
			if err != nil {
				t.Fatal(err)
			}
			stop()
			mu.Lock()
			if r := toneShare(listened[false], 700, sampleRate); r < 0.5 {
				t.Errorf("Listen heard the remote's 700 Hz with share %.2f", r)
			}
			if r := toneShare(listened[true], 1200, sampleRate); r < 0.5 {
				t.Errorf("Listen heard the played 1200 Hz with share %.2f", r)
			}
			mu.Unlock()
			sent := decodeAll(t, x.recvN(25, time.Second), mustDecoder(t, tc.codec), tc.pt, tc.tsStep)
			if r := toneShare(sent[len(sent)/4:], 1200, sampleRate); r < 0.8 {
				t.Errorf("played 1200 Hz, share %.2f in what the peer got", r)
			}
			f, err := os.Open(res.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := wav.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			var in []int16
			for i := 0; i+1 < len(a.Samples); i += 2 {
				in = append(in, a.Samples[i]) // channel 1: what the remote sent
			}
			var loud []int16
			for _, v := range in {
				if v > 1000 || v < -1000 || len(loud) > 0 {
					loud = append(loud, v)
				}
			}
			if len(loud) < 2000 {
				t.Fatalf("recording holds %d samples of the remote's tone", len(loud))
			}
			if r := toneShare(loud[400:2000], 700, sampleRate); r < 0.8 {
				t.Errorf("recorded the remote's 700 Hz with share %.2f", r)
			}
		})
	}
}

// G.711 stays byte-exact through the relay: no decode on the fast path.
func TestG711StaysUntouched(t *testing.T) {
	in := payload160(3)
	if out := g711.UlawToAlawBuf(make([]byte, 160), in); len(out) != 160 {
		t.Fatal("law conversion changed the size")
	}
	if needTranscode(CodecPCMU, CodecPCMA) || needTranscode(CodecOpus, CodecOpus) || !needTranscode(CodecPCMU, CodecG722) {
		t.Fatal("needTranscode")
	}
}

func TestTimestampMap(t *testing.T) {
	var m tsMap
	start := uint32(4294967000)
	if got := m.mapTS(1, start, 8000, 48000); got != start {
		t.Fatalf("first %d", got)
	}
	// Across the 32-bit wrap of the input.
	if got, want := m.mapTS(1, start+480, 8000, 48000), start+480*6; got != want {
		t.Fatalf("wrap %d, want %d", got, want)
	}
	// Older timestamps (a DTMF event's start) map back.
	if got, want := m.mapTS(1, start+160, 8000, 48000), start+960; got != want {
		t.Fatalf("back %d, want %d", got, want)
	}
	// A new SSRC starts over.
	if got := m.mapTS(2, 77, 48000, 8000); got != 77 {
		t.Fatalf("new ssrc %d", got)
	}
	if got := m.mapTS(2, 77+960, 48000, 8000); got != 77+160 {
		t.Fatalf("down %d", got)
	}
}

// Sender reports relayed across a bridge that changes clock rate carry RTP
// timestamps on the same map as the audio.
func TestSenderReportsFollowTheClock(t *testing.T) {
	s := codecSession(t, needOpus)
	a := newPeer(t, false).answered(t, s, "pcmu", "0")
	b := newPeer(t, false).answered(t, s, "opus", "111 opus/48000/2")
	from := &a.st.Load().neg
	b.tx.mu.Lock()
	b.tx.ts.mapTS(0x1234, 1000, 8000, 48000) // the audio's first packet
	b.tx.mu.Unlock()
	sr := rtcp.SenderReport{SSRC: 0x1234, RTPTime: 1000 + 8000, PacketCount: 50}
	rr := rtcp.ReceiverReport{SSRC: 9}
	pkt, err := rtcp.Marshal([]rtcp.Packet{&rr, &sr})
	if err != nil {
		t.Fatal(err)
	}
	b.mapSenderReports(from, pkt)
	got, err := rtcp.Unmarshal(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if ts := got[1].(*rtcp.SenderReport).RTPTime; ts != 1000+48000 {
		t.Fatalf("sender report RTP time %d, want %d (one second later at 48 kHz)", ts, 1000+48000)
	}
	// Same clock: untouched.
	c := newPeer(t, false).answered(t, s, "pcma", "8")
	pkt2 := slices.Clone(pkt)
	c.mapSenderReports(from, pkt2)
	if !bytes.Equal(pkt, pkt2) {
		t.Fatal("a report between 8 kHz legs changed")
	}
}

// G.722 and Opus are both wideband: a bridge between them transcodes at
// 16 kHz, so a 5 kHz tone (above the 4 kHz of narrowband) crosses.
func TestWidebandBridgeKeepsHighFrequencies(t *testing.T) {
	s := codecSession(t, needOpus)
	x, y := newPeer(t, false), newPeer(t, false)
	a := x.answered(t, s, "g722", "9")
	b := y.answered(t, s, "opus", "111 opus/48000/2")
	if err := s.Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	enc := closing[PCMEncoder](t)(NewPCMEncoder(CodecG722, 16000))
	y.sendTS(111, true, y.ts, []byte{0xf8, 0xff, 0xfe}) // latch y first (an Opus silence frame)
	const n = 40
	for i := range n {
		p, err := enc.Encode(nil, sineAt(5000, 16000, 320, i*320))
		if err != nil {
			t.Fatal(err)
		}
		x.send(9, i == 0, p)
		time.Sleep(time.Millisecond)
	}
	dec := closing[PCMDecoder](t)(NewPCMDecoder(CodecOpus, 16000))
	var out []int16
	for _, p := range y.recvN(n, 2*time.Second) {
		var err error
		if out, err = dec.Decode(out, p.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < n*320*9/10 {
		t.Fatalf("%d samples arrived", len(out))
	}
	if r := toneShare(out[len(out)/2:], 5000, 16000); r < 0.5 {
		t.Errorf("5 kHz tone share %.2f at the Opus peer", r)
	}
}

// Opus goes with FEC and DTX off (RFC 7587 leaves both to the receiver):
// our offer asks peers for neither, and our encoder uses them only when the
// receiver's fmtp asks.
func TestOpusFECAndDTXOffByDefault(t *testing.T) {
	needOpus(t)
	s := newTestManager(t, nil).NewSession(SessionOptions{})
	defer s.Close()
	l, _ := s.NewLeg("out")
	off, err := l.Offer(OfferOptions{Codecs: CodecList{"OPUS"}})
	if err != nil || !strings.Contains(string(off), "a=fmtp:111 useinbandfec=0;usedtx=0\r\n") {
		t.Fatalf("offer: %v\n%s", err, off)
	}
	for _, tc := range []struct {
		fmtp     string
		fec, dtx bool
	}{
		{"", false, false},
		{"useinbandfec=0;usedtx=0", false, false},
		{"minptime=10;useinbandfec=1", true, false},
		{"usedtx=1", false, true},
	} {
		if o := opusOptions(tc.fmtp); o.FEC != tc.fec || o.DTX != tc.dtx || (o.PacketLossPercent > 0) != tc.fec {
			t.Errorf("fmtp %q: encoder options %+v, want FEC %v DTX %v", tc.fmtp, o, tc.fec, tc.dtx)
		}
	}
}
