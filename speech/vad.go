package speech

// Segmenter cuts a live track into utterances with an energy voice
// activity detector, so a recogniser that only transcribes whole files
// (pocketsphinx's batch tool, the HTTP engine) can give results while the
// call goes on: each utterance is transcribed as soon as it ends.
//
// A frame is voiced when its mean absolute amplitude passes Threshold. An
// utterance starts at the first voiced frame (with Lead frames of audio
// before it, so a soft onset is kept), and ends after Hangover of unvoiced
// frames, or when it reaches MaxFrames (a long monologue still yields text
// every ~10 s). Utterances shorter than MinVoiced voiced frames (a click, a
// cough) are dropped.
type Segmenter struct {
	Threshold int // mean |sample| of a voiced frame; default 300
	Lead      int // frames kept before the first voiced one; default 10 (200 ms)
	Hangover  int // unvoiced frames that end an utterance; default 30 (600 ms)
	MaxFrames int // longest utterance; default 500 (10 s)
	MinVoiced int // fewest voiced frames of a kept utterance; default 5 (100 ms)

	lead    [][]int16 // ring of the last Lead unvoiced frames
	cur     []int16   // the utterance so far
	frames  int       // frames in cur
	voiced  int       // voiced frames in cur
	silent  int       // unvoiced frames since the last voiced one
	pos     int64     // samples fed so far
	startAt int64     // sample offset of cur's first sample
}

// Utterance is a stretch of speech: its audio and where it starts in the
// track, in samples at 8 kHz.
type Utterance struct {
	Start int64
	PCM   []int16
}

func (s *Segmenter) defaults() {
	if s.Threshold <= 0 {
		s.Threshold = 300
	}
	if s.Lead <= 0 {
		s.Lead = 10
	}
	if s.Hangover <= 0 {
		s.Hangover = 30
	}
	if s.MaxFrames <= 0 {
		s.MaxFrames = 500
	}
	if s.MinVoiced <= 0 {
		s.MinVoiced = 5
	}
}

// Feed takes the next frame (any length; 160 samples is 20 ms) and returns
// the utterance it completes, if any.
func (s *Segmenter) Feed(frame []int16) (Utterance, bool) {
	s.defaults()
	at := s.pos
	s.pos += int64(len(frame))
	voiced := meanAbs(frame) >= s.Threshold
	if s.cur == nil {
		if !voiced {
			s.keepLead(frame)
			return Utterance{}, false
		}
		s.startAt = at
		for _, f := range s.lead {
			s.cur = append(s.cur, f...)
			s.startAt -= int64(len(f))
			s.frames++
		}
		s.lead = s.lead[:0]
	}
	s.cur = append(s.cur, frame...)
	s.frames++
	if voiced {
		s.voiced++
		s.silent = 0
	} else {
		s.silent++
	}
	if s.silent >= s.Hangover || s.frames >= s.MaxFrames {
		return s.cut()
	}
	return Utterance{}, false
}

// InProgress is the utterance being heard, if any (for partial results);
// the audio is a copy.
func (s *Segmenter) InProgress() (Utterance, bool) {
	if s.cur == nil || s.voiced < s.MinVoiced {
		return Utterance{}, false
	}
	return Utterance{Start: s.startAt, PCM: append([]int16(nil), s.cur...)}, true
}

// Flush ends the utterance in progress (the track ended).
func (s *Segmenter) Flush() (Utterance, bool) {
	if s.cur == nil {
		return Utterance{}, false
	}
	return s.cut()
}

func (s *Segmenter) cut() (Utterance, bool) {
	u := Utterance{Start: s.startAt, PCM: s.cur}
	keep := s.voiced >= s.MinVoiced
	s.cur, s.frames, s.voiced, s.silent = nil, 0, 0, 0
	return u, keep
}

// keepLead remembers frame as the newest of the lead, reusing the buffer
// of the frame it evicts.
func (s *Segmenter) keepLead(frame []int16) {
	if len(s.lead) < s.Lead {
		s.lead = append(s.lead, append([]int16(nil), frame...))
		return
	}
	oldest := s.lead[0]
	copy(s.lead, s.lead[1:])
	s.lead[len(s.lead)-1] = append(oldest[:0], frame...)
}

func meanAbs(pcm []int16) int {
	if len(pcm) == 0 {
		return 0
	}
	var sum int
	for _, v := range pcm {
		if v < 0 {
			sum -= int(v)
		} else {
			sum += int(v)
		}
	}
	return sum / len(pcm)
}
