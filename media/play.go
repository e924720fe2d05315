package media

import (
	"context"
)

// PlayOptions tune Play, PlayPCM and Speak.
type PlayOptions struct {
	// StopOnDTMF ends playback with ErrInterrupted when the remote sends
	// any digit (BXML Gather's barge-in). Subscribe with SubscribeDTMF
	// first to learn which digit it was.
	StopOnDTMF bool
}

// frameSource yields 20 ms of 8 kHz mono audio per call; false when done.
type frameSource interface {
	next(frame []int16) bool
}

type pcmSource struct {
	pcm []int16
	off int
}

func (s *pcmSource) next(frame []int16) bool {
	if s.off >= len(s.pcm) {
		return false
	}
	n := copy(frame, s.pcm[s.off:])
	clear(frame[n:]) // the last frame is padded with silence
	s.off += n
	return true
}

// Play plays a WAV or MP3 file (path or http(s) URL) to the leg's remote:
// resampled to 8 kHz, encoded in the leg's codec, one packet per 20 ms. It
// returns nil at the end, ctx.Err() when cancelled, ErrInterrupted on a
// digit with opts.StopOnDTMF.
func (l *Leg) Play(ctx context.Context, src string, opts PlayOptions) error {
	pcm, err := l.s.m.LoadAudio(ctx, src)
	if err != nil {
		return err
	}
	return l.PlayPCM(ctx, pcm, opts)
}

// PlayPCM plays 8 kHz mono samples.
func (l *Leg) PlayPCM(ctx context.Context, pcm []int16, opts PlayOptions) error {
	return l.transmit(ctx, &pcmSource{pcm: pcm}, opts)
}

// transmit plays a source on the media clock: one 20 ms frame per tick,
// timestamps continuing the leg's stream.
func (l *Leg) transmit(ctx context.Context, src frameSource, opts PlayOptions) error {
	return l.perform(ctx, &audioJob{src: src}, opts)
}

// audioJob sends a frameSource until it runs out.
type audioJob struct{ src frameSource }

func (j *audioJob) step(l *Leg, st *legState) (sent, done bool, err error) {
	frame := l.send.frame
	if !j.src.next(frame) {
		return false, true, nil
	}
	if err := l.sendAudio(st, frame); err != nil {
		return false, true, err
	}
	return true, false, nil
}
