package media

import (
	"testing"
	"time"
)

// Audio pushed into a leg's feed goes out on the leg's one continuous
// stream in place of silence (same SSRC, sequence +1, timestamp +160), and
// reaches Listen as the outbound track; when it runs out, silence resumes
// (and reaches Listen too: the outbound track has a frame every 20 ms).
func TestFeedPlaysInsteadOfSilence(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0")
	outFrames := make(chan int, 1000)
	stop, ok := l.Listen(func(out bool, pcm []int16) {
		if out {
			select {
			case outFrames <- energy(pcm):
			default:
			}
		}
	})
	if !ok {
		t.Fatal("Listen refused a PCMU leg")
	}
	defer stop()
	f := NewFeed(8000)
	if !l.SetFeed(f) {
		t.Fatal("SetFeed")
	}
	if l.SetFeed(NewFeed(10)) {
		t.Fatal("a second feed was attached")
	}
	tone := sine(8000, 1, 0.5, 1000)
	if n := f.Push(tone); n != 0 {
		t.Fatalf("%d samples dropped from a feed with room", n)
	}
	if n := f.Push(make([]int16, 8000)); n != 4000 {
		t.Fatalf("overflow dropped %d samples, want 4000", n)
	}
	l.Activate()
	pkts := p.recvStream(60, 5*time.Second, time.Second)
	loud := 0
	for i, pkt := range pkts {
		if i > 0 && (pkt.SSRC != pkts[0].SSRC || pkt.SequenceNumber != pkts[i-1].SequenceNumber+1 || pkt.Timestamp != pkts[i-1].Timestamp+160) {
			t.Fatalf("packet %d breaks the stream: %+v after %+v", i, pkt.Header, pkts[i-1].Header)
		}
		if energy(decodePT(0, pkt.Payload)) > 1000 {
			loud++
		}
	}
	if loud != 25 {
		t.Errorf("%d loud frames, want the 25 frames of the 0.5 s tone", loud)
	}
	if f.Buffered() != 0 || f.Dropped() != 4000 {
		t.Errorf("feed: %d buffered, %d dropped", f.Buffered(), f.Dropped())
	}
	heardOut, silentOut := 0, 0
	for len(outFrames) > 0 {
		if <-outFrames > 1000 {
			heardOut++
		} else {
			silentOut++
		}
	}
	if heardOut != 25 || silentOut == 0 {
		t.Errorf("Listen saw %d loud and %d silent outbound frames, want 25 and the silence too", heardOut, silentOut)
	}
	l.RemoveFeed(f)
	if !l.SetFeed(NewFeed(10)) {
		t.Fatal("SetFeed after RemoveFeed")
	}
}
