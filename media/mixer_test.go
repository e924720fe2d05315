package media

import (
	"fmt"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// The mixing core runs here without sockets: members are added to the
// room's plan directly, fed frames through their jitter buffers as the leg
// tap would, and read back what the room mixed for each.

func addTestMember(mx *Mixer, key string, opts MemberOptions) *Member {
	mb := &Member{mx: mx, key: key, left: make(chan struct{}),
		frame: make([]int16, frameSamples), acc: make([]int32, frameSamples), out: make([]int16, frameSamples)}
	mb.SetMute(opts.Mute)
	mb.SetHold(opts.Hold)
	mx.mu.Lock()
	mb.coaching = opts.Coach
	mx.members = append(mx.members, mb)
	mx.replanLocked()
	mx.mu.Unlock()
	return mb
}

func testMixer(t testing.TB) *Mixer {
	return newTestManager(t, nil).NewMixer(MixerOptions{})
}

var testTones = map[string]float64{"a": 500, "b": 900, "c": 1300, "d": 1700}

// runTicks feeds each member its tone for n ticks and returns what each
// heard (ticks where it got no frame count as silence).
func runTicks(mx *Mixer, members []*Member, n int) map[string][]int16 {
	heard := map[string][]int16{}
	for tick := range n {
		for _, mb := range members {
			mb.in.push(testenv.Tone(frameSamples, sampleRate, testTones[mb.key], 4000, tick*frameSamples))
		}
		mx.mix()
		for _, mb := range members {
			if mb.ready.Load() {
				heard[mb.key] = append(heard[mb.key], mb.out...)
			} else {
				heard[mb.key] = append(heard[mb.key], make([]int16, frameSamples)...)
			}
		}
	}
	return heard
}

// hears reports, for each tone, whether pcm carries it at a clear level.
func hears(pcm []int16) map[string]bool {
	out := map[string]bool{}
	for k, hz := range testTones {
		out[k] = testenv.ToneAmplitude(pcm, sampleRate, hz) > 1000
	}
	return out
}

func checkHears(t *testing.T, heard map[string][]int16, who string, want ...string) {
	t.Helper()
	got := hears(heard[who])
	for k := range testTones {
		w := false
		for _, x := range want {
			w = w || x == k
		}
		if got[k] != w {
			t.Errorf("%s hears %s: %v, want %v (amplitude %.0f)", who, k, got[k], w,
				testenv.ToneAmplitude(heard[who], sampleRate, testTones[k]))
		}
	}
}

func TestMixerEachHearsTheOthersNotItself(t *testing.T) {
	mx := testMixer(t)
	ms := []*Member{addTestMember(mx, "a", MemberOptions{}), addTestMember(mx, "b", MemberOptions{}), addTestMember(mx, "c", MemberOptions{})}
	heard := runTicks(mx, ms, 50)
	checkHears(t, heard, "a", "b", "c")
	checkHears(t, heard, "b", "a", "c")
	checkHears(t, heard, "c", "a", "b")
}

func TestMixerMuteHoldCoach(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]MemberOptions
		want map[string][]string
	}{
		{"muted member is not heard but hears", map[string]MemberOptions{"b": {Mute: true}},
			map[string][]string{"a": {"c"}, "b": {"a", "c"}, "c": {"a"}}},
		{"held member hears nothing and is not heard", map[string]MemberOptions{"b": {Hold: true}},
			map[string][]string{"a": {"c"}, "b": {}, "c": {"a"}}},
		{"coach is heard only by the coached and hears all", map[string]MemberOptions{"c": {Coach: []string{"a"}}},
			map[string][]string{"a": {"b", "c"}, "b": {"a"}, "c": {"a", "b"}}},
		{"coach of a held member is heard by nobody", map[string]MemberOptions{"a": {Hold: true}, "c": {Coach: []string{"a"}}},
			map[string][]string{"a": {}, "b": {}, "c": {"b"}}},
		{"muted coach is heard by nobody", map[string]MemberOptions{"c": {Mute: true, Coach: []string{"a"}}},
			map[string][]string{"a": {"b"}, "b": {"a"}, "c": {"a", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mx := testMixer(t)
			var ms []*Member
			for _, k := range []string{"a", "b", "c"} {
				ms = append(ms, addTestMember(mx, k, tc.opts[k]))
			}
			heard := runTicks(mx, ms, 50)
			for _, k := range []string{"a", "b", "c"} {
				checkHears(t, heard, k, tc.want[k]...)
			}
		})
	}
}

func TestMixerClipsSums(t *testing.T) {
	mx := testMixer(t)
	ms := []*Member{addTestMember(mx, "a", MemberOptions{}), addTestMember(mx, "b", MemberOptions{}), addTestMember(mx, "c", MemberOptions{})}
	loud := func(v int16) []int16 {
		f := make([]int16, frameSamples)
		for i := range f {
			f[i] = v
		}
		return f
	}
	for range primeFrames {
		ms[0].in.push(loud(30000))
		ms[1].in.push(loud(30000))
		ms[2].in.push(loud(-30000))
	}
	mx.mix()
	// c hears a+b = 60000: saturated, never wrapped to a negative value.
	if got := ms[2].out[0]; got != 32767 {
		t.Errorf("c hears %d, want 32767", got)
	}
	// a hears b+c = 0.
	if got := ms[0].out[0]; got != 0 {
		t.Errorf("a hears %d, want 0", got)
	}
	for range primeFrames {
		ms[0].in.push(loud(-30000))
		ms[1].in.push(loud(-30000))
		ms[2].in.push(loud(0))
	}
	mx.mix() // the second frame of the first burst
	mx.mix()
	if got := ms[2].out[0]; got != -32768 {
		t.Errorf("c hears %d, want -32768", got)
	}
}

func TestJitterBuffer(t *testing.T) {
	var j jitterBuffer
	f := make([]int16, frameSamples)
	if j.pop(f) {
		t.Fatal("empty buffer gave a frame")
	}
	frame := func(v int16) []int16 {
		x := make([]int16, frameSamples)
		for i := range x {
			x[i] = v
		}
		return x
	}
	j.push(frame(1))
	if j.pop(f) {
		t.Fatal("played before two frames were buffered")
	}
	j.push(frame(2))
	if !j.pop(f) || f[0] != 1 || !j.pop(f) || f[0] != 2 {
		t.Fatalf("frames out of order: %d", f[0])
	}
	if j.pop(f) {
		t.Fatal("dry buffer gave a frame")
	}
	// 30 ms packets (240 samples) come out as 20 ms frames.
	for i := range 4 {
		j.push(make([]int16, 240))
		_ = i
	}
	n := 0
	for j.pop(f) {
		n++
	}
	if n != 6 {
		t.Errorf("4×240 samples gave %d frames, want 6", n)
	}
	// A burst keeps only the newest jitterFrames.
	for v := range int16(20) {
		j.push(frame(v))
	}
	if !j.pop(f) || f[0] != 20-jitterFrames {
		t.Errorf("after a burst the oldest frame is %d, want %d", f[0], 20-jitterFrames)
	}
}

// BenchmarkMixer prices one clock tick of a room: mixing every member's
// frame and encoding it to G.711 (half the members μ-law, half A-law), as
// the legs do before sending. One op is one tick (20 ms of audio); the
// µs/member-s metric is the CPU one member costs per second of conference.
func BenchmarkMixer(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			mx := testMixer(b)
			ms := make([]*Member, n)
			frames := make([][]int16, n)
			for i := range ms {
				ms[i] = addTestMember(mx, fmt.Sprint(i), MemberOptions{})
				frames[i] = testenv.Tone(frameSamples, sampleRate, float64(300+50*i), 3000, 0)
				ms[i].in.push(frames[i])
			}
			payload := make([]byte, 0, frameSamples)
			b.ReportAllocs()
			// Half the members μ-law, half A-law, as the server encodes them.
			encoders := []PCMEncoder{&g711Codec{ulaw: true}, &g711Codec{}}
			b.ResetTimer()
			for range b.N {
				for i, mb := range ms {
					mb.in.push(frames[i])
				}
				mx.mix()
				for i, mb := range ms {
					payload, _ = encoders[i%2].Encode(payload[:0], mb.out)
				}
			}
			perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			// 50 ticks per second, shared by n members.
			b.ReportMetric(perTick*50/float64(n)/1000, "µs/member-s")
		})
	}
}
