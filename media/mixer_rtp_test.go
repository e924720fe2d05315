package media

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"

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

// A room mixes legs of any codec the endpoint speaks: a G.722, Opus or
// G.729 member hears a μ-law member and is heard by it, each in its own
// codec and clock (the member's audio is decoded on the way in and the mix
// encoded on the way out, as play and record do).
func TestMixerOnWidebandLegs(t *testing.T) {
	for _, tc := range widebandCases {
		t.Run(tc.name, func(t *testing.T) {
			s := codecSession(t, tc.need)
			mx := s.m.NewMixer(MixerOptions{})
			t.Cleanup(mx.Close)
			s2 := s.m.NewSession(SessionOptions{})
			t.Cleanup(func() { s2.Close() })
			a, w := newPeer(t, false), newPeer(t, false)
			legs := []*Leg{a.answered(t, s, "a", "0"), w.answered(t, s2, "w", tc.format)}
			for i, key := range []string{"a", "w"} {
				legs[i].Activate()
				mb, err := mx.Join(key, legs[i], MemberOptions{})
				if err != nil {
					t.Fatal(err)
				}
				testenv.Go(t, mb.Run)
			}
			enc, dec := mustEncoder(t, tc.codec), mustDecoder(t, tc.codec)
			// Both talk for a second, paced at 20 ms: a its 500 Hz in
			// μ-law, w its 1300 Hz in its codec.
			testenv.Go(t, func(ctx context.Context) error {
				tick := time.NewTicker(frameDuration)
				defer tick.Stop()
				for i := range 50 {
					if err := a.talk(0, g711.EncodeUlawBuf(nil, testenv.Tone(frameSamples, sampleRate, testTones["a"], 4000, i*frameSamples))); err != nil {
						return err
					}
					payload, err := enc.Encode(nil, testenv.Tone(frameSamples, sampleRate, testTones["c"], 4000, i*frameSamples))
					if err != nil {
						return err
					}
					if err := w.write(tc.pt, i == 0, w.ts, payload); err != nil {
						return err
					}
					w.ts += tc.tsStep
					select {
					case <-tick.C:
					case <-ctx.Done():
						return nil
					}
				}
				return nil
			})
			var toA, toW []*rtp.Packet
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
				if pkt, err := a.recv(5 * time.Millisecond); err == nil {
					toA = append(toA, pkt)
				}
				if pkt, err := w.recv(5 * time.Millisecond); err == nil {
					toW = append(toW, pkt)
				}
			}
			heard := map[string][]int16{"a": nil, "w": decodeAll(t, toW, dec, tc.pt, tc.tsStep)}
			for _, p := range toA {
				heard["a"] = append(heard["a"], decodePT(p.PayloadType, p.Payload)...)
			}
			if amp := testenv.ToneAmplitude(heard["a"], sampleRate, testTones["c"]); amp < 500 {
				t.Errorf("the μ-law member hears the %s member's tone at amplitude %.0f", tc.name, amp)
			}
			if amp := testenv.ToneAmplitude(heard["a"], sampleRate, testTones["a"]); amp > 150 {
				t.Errorf("the μ-law member hears itself at amplitude %.0f", amp)
			}
			if amp := testenv.ToneAmplitude(heard["w"], sampleRate, testTones["a"]); amp < 500 {
				t.Errorf("the %s member hears the μ-law member's tone at amplitude %.0f", tc.name, amp)
			}
			if amp := testenv.ToneAmplitude(heard["w"], sampleRate, testTones["c"]); amp > 150 {
				t.Errorf("the %s member hears itself at amplitude %.0f", tc.name, amp)
			}
		})
	}
}
