package media

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
	"github.com/wasmvoice/wasmvoice/media/wav"
)

// Three peers over real sockets, one μ-law, one A-law and one SRTP μ-law,
// each sending its own tone into one room: each hears the other two and
// not itself, and a recording of the room's mix has all three.
func TestMixerOverRTPWithMixedCodecsAndSRTP(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	mx := m.NewMixer(MixerOptions{})
	t.Cleanup(mx.Close)
	type party struct {
		key string
		p   *peer
		pt  uint8
		leg *Leg
	}
	parties := []*party{{key: "a", pt: 0}, {key: "b", pt: 8}, {key: "c", pt: 0}}
	for i, pa := range parties {
		s := m.NewSession(SessionOptions{})
		t.Cleanup(func() { s.Close() })
		pa.p = newPeer(t, i == 2)
		if pa.pt == 8 {
			pa.leg = pa.p.answered(t, s, pa.key, "8")
		} else {
			pa.leg = pa.p.answered(t, s, pa.key, "0")
		}
		pa.leg.Activate()
		mb, err := mx.Join(pa.key, pa.leg, MemberOptions{})
		if err != nil {
			t.Fatal(err)
		}
		testenv.Go(t, mb.Run)
	}
	if !parties[2].leg.Secure() {
		t.Fatal("the third leg is not SRTP")
	}
	rec := filepath.Join(t.TempDir(), "mix.wav")
	r, err := mx.StartRecording(rec, RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Each peer talks for 1.5 s on its own goroutine, paced at 20 ms.
	for _, pa := range parties {
		testenv.Go(t, func(ctx context.Context) error {
			tick := time.NewTicker(frameDuration)
			defer tick.Stop()
			for i := range 75 {
				pcm := testenv.Tone(frameSamples, sampleRate, testTones[pa.key], 4000, i*frameSamples)
				var payload []byte
				if pa.pt == 8 {
					payload = g711.EncodeAlawBuf(nil, pcm)
				} else {
					payload = g711.EncodeUlawBuf(nil, pcm)
				}
				if err := pa.p.talk(pa.pt, payload); err != nil {
					return err
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
					return nil
				}
			}
			return nil
		})
	}
	heard := map[string][]int16{}
	for _, pa := range parties {
		heard[pa.key] = nil
	}
	// Read what each peer receives for as long as the talking lasts; every
	// packet is decoded in its own law.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, pa := range parties {
			pkt, err := pa.p.recv(5 * time.Millisecond)
			if errors.Is(err, errTimeout) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if pkt.PayloadType != pa.pt {
				t.Fatalf("%s got payload type %d, want %d", pa.key, pkt.PayloadType, pa.pt)
			}
			heard[pa.key] = append(heard[pa.key], decodePT(pkt.PayloadType, pkt.Payload)...)
		}
	}
	checkHearsSome(t, heard, "a", "b", "c")
	checkHearsSome(t, heard, "b", "a", "c")
	checkHearsSome(t, heard, "c", "a", "b")
	res, err := r.Stop()
	if err != nil {
		t.Fatal(err)
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
	checkHearsSome(t, map[string][]int16{"mix": a.Samples}, "mix", "a", "b", "c")
}

// checkHearsSome checks tones over a capture whose start and end may hold
// silence: the amplitude threshold is lower than in the tick tests.
func checkHearsSome(t *testing.T, heard map[string][]int16, who string, want ...string) {
	t.Helper()
	pcm := heard[who]
	if len(pcm) < 20*frameSamples {
		t.Fatalf("%s received only %d samples", who, len(pcm))
	}
	for k, hz := range testTones {
		if k == "d" {
			continue
		}
		amp := testenv.ToneAmplitude(pcm, sampleRate, hz)
		w := false
		for _, x := range want {
			w = w || x == k
		}
		if w && amp < 500 || !w && amp > 150 {
			t.Errorf("%s: tone of %s at amplitude %.0f, want heard=%v", who, k, amp, w)
		}
	}
}

// A room takes at most MaxMembers, a leg not negotiated cannot join, and a
// member that leaves frees its place.
func TestMixerJoinLimits(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	t.Cleanup(func() { s.Close() })
	mx := m.NewMixer(MixerOptions{MaxMembers: 1})
	t.Cleanup(mx.Close)
	a := newPeer(t, false).answered(t, s, "a", "0")
	b := newPeer(t, false).answered(t, s, "b", "8")
	mb, err := mx.Join("a", a, MemberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mx.Join("b", b, MemberOptions{}); !errors.Is(err, ErrRoomFull) {
		t.Errorf("second member of a room of one: %v", err)
	}
	mb.Leave()
	if _, err := mx.Join("b", b, MemberOptions{}); err != nil {
		t.Errorf("joining after a member left: %v", err)
	}
	unneg, err := s.NewLeg("c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewMixer(MixerOptions{}).Join("c", unneg, MemberOptions{}); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("unnegotiated leg: %v", err)
	}
}
