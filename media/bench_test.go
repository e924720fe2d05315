package media

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// benchRelay pushes packets through a bridged pair on 127.0.0.1 with a small
// window in flight, so the kernel never drops. Run with -cpu 1 for the
// one-core figure: that core then also runs both test peers' syscalls, so
// the relay's own share is roughly half of the total.
func benchRelay(b *testing.B, fromSecure, toSecure bool, fromPT, toPT string) {
	m := newTestManager(b, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	x, y := newPeer(b, fromSecure), newPeer(b, toSecure)
	a := x.answered(b, s, "a", fromPT)
	c := y.answered(b, s, "b", toPT)
	if err := s.Bridge(a, c); err != nil {
		b.Fatal(err)
	}
	pt := map[string]uint8{"0": 0, "8": 8}[fromPT]
	payload := payload160(1)
	x.send(pt, true, payload) // latch
	if _, err := y.recv(5 * time.Second); err != nil {
		b.Fatal(err)
	}
	const window = 16
	received := 0
	b.SetBytes(172)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += window {
		n := min(window, b.N-i)
		for j := 0; j < n; j++ {
			x.send(pt, false, payload)
		}
		for j := 0; j < n; j++ {
			if _, err := y.recv(time.Second); err != nil {
				if errors.Is(err, errTimeout) {
					break
				}
				b.Fatal(err)
			}
			received++
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(received)/el.Seconds(), "pkts/s")
	b.ReportMetric(float64(b.N-received), "lost")
}

func BenchmarkRelayPlainPassThrough(b *testing.B)     { benchRelay(b, false, false, "0", "0") }
func BenchmarkRelayPlainTranscode(b *testing.B)       { benchRelay(b, false, false, "0", "8") }
func BenchmarkRelaySRTPToPlainTranscode(b *testing.B) { benchRelay(b, true, false, "0", "8") }
func BenchmarkRelaySRTPBothSides(b *testing.B)        { benchRelay(b, true, true, "0", "0") }

func srtpPair(b *testing.B) (*srtp.Context, *srtp.Context) {
	k, err := newSDESKey(1)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := srtp.CreateContext(k.key, k.salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		b.Fatal(err)
	}
	rx, err := srtp.CreateContext(k.key, k.salt, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.SRTPReplayProtection(srtpReplayWindow))
	if err != nil {
		b.Fatal(err)
	}
	return tx, rx
}

func g711Packet(seq uint16) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 42}, Payload: payload160(3)}
	b, _ := p.Marshal()
	return b
}

func BenchmarkSRTPProtect(b *testing.B) {
	tx, _ := srtpPair(b)
	pkt := g711Packet(1)
	out := make([]byte, 0, 300)
	b.SetBytes(int64(len(pkt)))
	var seq uint16
	for b.Loop() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		if _, err := tx.EncryptRTP(out[:0], pkt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSRTPUnprotect(b *testing.B) {
	tx, rx := srtpPair(b)
	const n = 4096
	enc := make([][]byte, n)
	for i := range enc {
		e, err := tx.EncryptRTP(nil, g711Packet(uint16(i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		enc[i] = e
	}
	out := make([]byte, 0, 300)
	b.SetBytes(int64(len(enc[0])))
	i := 0
	for b.Loop() {
		if i == n { // the replay window would reject repeats: re-key
			b.StopTimer()
			tx, rx = srtpPair(b)
			for j := range enc {
				enc[j], _ = tx.EncryptRTP(nil, g711Packet(uint16(j)), nil)
			}
			i = 0
			b.StartTimer()
		}
		if _, err := rx.DecryptRTP(out[:0], enc[i], nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDTMFDetector(b *testing.B) {
	var d dtmfDetector
	p := []byte{5, 10, 0, 160}
	var ts uint32
	for b.Loop() {
		ts += 160
		d.feed(ts, p)
	}
}

// benchTick prices one frame of the endpoint's own stream: what the media
// clock does per leg every 20 ms (header, encoding, the send syscall, the
// RTCP schedule). The leg is ticked directly, off the clock.
func benchTick(b *testing.B, play bool) {
	m := newTestManager(b, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(b, false)
	l := p.answered(b, s, "caller", "0")
	l.send.live.Store(true) // as Activate, without handing the leg to the clock
	if play {
		w := &sendWork{job: &audioJob{src: &toneSource{freqs: []float64{440}, amp: 6000}}, done: make(chan error, 1)}
		l.send.work.Store(w)
	}
	b.SetBytes(172)
	for b.Loop() {
		l.tick(0)
	}
}

func BenchmarkTickSilence(b *testing.B)  { benchTick(b, false) }
func BenchmarkTickPlayTone(b *testing.B) { benchTick(b, true) }

// BenchmarkTickPlayPCM is a tick of Play or Speak: decoded samples encoded.
func BenchmarkTickPlayPCM(b *testing.B) {
	m := newTestManager(b, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(b, false)
	l := p.answered(b, s, "caller", "0")
	l.send.live.Store(true)
	pcm := sine(8000, 1, 1, 440)
	b.SetBytes(172)
	for b.Loop() {
		src := l.send.work.Load()
		if src == nil || src.finished.Load() {
			l.send.work.Store(&sendWork{job: &audioJob{src: &pcmSource{pcm: pcm}}, done: make(chan error, 1)})
		}
		l.tick(0)
	}
}
