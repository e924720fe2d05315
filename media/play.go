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

// transmit paces a source out as RTP: marker bit on the first packet,
// timestamps advancing 160 per packet.
func (l *Leg) transmit(ctx context.Context, src frameSource, opts PlayOptions) error {
	var stop <-chan DTMFEvent
	if opts.StopOnDTMF {
		ch, cancel := l.SubscribeDTMF()
		defer cancel()
		stop = ch
	}
	release, err := l.beginSend(ctx)
	if err != nil {
		return err
	}
	defer release()
	frame := make([]int16, frameSamples)
	payload := make([]byte, 0, frameSamples)
	p := newPacer()
	first := true
	for src.next(frame) {
		if l.closed.Load() {
			return ErrClosed
		}
		if l.peer.Load() != nil {
			return ErrBridged
		}
		st := l.st.Load()
		var ok bool
		if payload, ok = encode(payload[:0], st.neg.audio, frame); !ok {
			return ErrCodecUnsupported
		}
		l.sendRTP(st.neg.audio.PayloadType, first, l.send.ts, payload)
		l.send.ts += frameSamples
		first = false
		if l.taps.active() {
			l.taps.out(frame)
		}
		if err := p.wait(ctx, stop); err != nil {
			return err
		}
	}
	return nil
}
