package speech

import (
	"math"
	"testing"
)

func vadTone(frames int) [][]int16 {
	out := make([][]int16, frames)
	for f := range out {
		out[f] = make([]int16, 160)
		for i := range out[f] {
			out[f][i] = int16(3000 * math.Sin(2*math.Pi*440*float64(f*160+i)/8000))
		}
	}
	return out
}

func vadSilence(frames int) [][]int16 {
	out := make([][]int16, frames)
	for f := range out {
		out[f] = make([]int16, 160)
	}
	return out
}

// Speech between silences comes out as utterances that start with the lead
// and end after the hangover; a long one is cut at MaxFrames; a click is
// dropped; Flush ends what is in progress.
func TestSegmenter(t *testing.T) {
	var s Segmenter
	var got []Utterance
	feed := func(frames [][]int16) {
		for _, f := range frames {
			if u, ok := s.Feed(f); ok {
				got = append(got, u)
			}
		}
	}
	feed(vadSilence(50))
	feed(vadTone(50)) // 1 s of speech from sample 8000
	feed(vadSilence(50))
	feed(vadTone(2)) // a click
	feed(vadSilence(50))
	feed(vadTone(600)) // 12 s: cut at 10 s (lead included), 110 frames left
	if len(got) != 2 {
		t.Fatalf("%d utterances, want 2 (the 1 s one and the first 10 s of the long one)", len(got))
	}
	if u := got[0]; u.Start != 8000-10*160 || len(u.PCM) != (10+50+30)*160 {
		t.Errorf("first utterance at %d, %d samples", u.Start, len(u.PCM))
	}
	if len(got[1].PCM) != 500*160 {
		t.Errorf("long utterance cut at %d samples, want %d", len(got[1].PCM), 500*160)
	}
	if p, ok := s.InProgress(); !ok || len(p.PCM) != 110*160 {
		t.Errorf("in progress: %v %d", ok, len(p.PCM))
	}
	u, ok := s.Flush()
	if !ok || len(u.PCM) != 110*160 {
		t.Errorf("flush: %v %d", ok, len(u.PCM))
	}
	if _, ok := s.Flush(); ok {
		t.Error("a second flush returned audio")
	}
}
