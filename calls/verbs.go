package calls

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
)

// The Call implements the verbs of the BXML interpreter.
var (
	_ bxml.Call       = (*Call)(nil)
	_ bxml.EarlyMedia = (*Call)(nil)
)

// Answer sends 200 OK with the media answer the first time a verb needs media.
func (c *Call) Answer(ctx context.Context) error {
	c.mu.Lock()
	done := c.answered
	c.mu.Unlock()
	if done {
		return nil
	}
	if c.sipIn != nil {
		if err := c.sipIn.Answer(ctx, c.localSDP); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
	}
	c.markAnswered()
	return nil
}

func (c *Call) markAnswered() {
	c.mu.Lock()
	c.answered = true
	c.state = stateAnswered
	c.info.AnswerTime = time.Now().UTC()
	c.mu.Unlock()
	c.e.publishCall(c.Snapshot())
	if c.leg != nil {
		// An answered leg sends RTP from now on, silence while nothing
		// plays, so the peer's RTP timeout never sees a quiet Gather.
		c.leg.Activate()
	}
}

func (c *Call) Speak(ctx context.Context, s *bxml.SpeakSentence) error {
	text := s.PlainText()
	if media.LooksLikeSSML(s.SSML) {
		text = s.SSML
	}
	return ignoreInterrupt(c.leg.Speak(ctx, text, media.Voice{Name: s.Voice, Gender: s.Gender, Locale: s.Locale}, media.PlayOptions{}))
}

func (c *Call) Play(ctx context.Context, p *bxml.PlayAudio) error {
	src := p.URL
	if p.Username != "" {
		if u, err := url.Parse(p.URL); err == nil {
			u.User = url.UserPassword(p.Username, p.Password)
			src = u.String()
		}
	}
	return ignoreInterrupt(c.leg.Play(ctx, src, media.PlayOptions{}))
}

func ignoreInterrupt(err error) error {
	if err == media.ErrInterrupted {
		return nil
	}
	return err
}

func (c *Call) Ring(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	answered := c.answered
	c.mu.Unlock()
	if !answered && c.sipIn != nil {
		// Ringback before answer is early media: 183 with our SDP. The
		// leg is not activated, so it sends only what plays.
		if err := c.sipIn.Progress(c.localSDP); err != nil {
			return fmt.Errorf("ring: %w", err)
		}
		c.mu.Lock()
		c.early = true
		c.mu.Unlock()
	}
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := c.leg.PlayRingback(rctx, media.RingbackUS)
	if rctx.Err() != nil && ctx.Err() == nil {
		return nil // the ring ran its duration
	}
	return err
}

// InEarlyMedia reports whether a Ring sent 183 with SDP and the call is not
// answered: prompts then play as early media (bxml.EarlyMedia).
func (c *Call) InEarlyMedia() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.early && !c.answered
}

func (c *Call) SendDTMF(ctx context.Context, digits string, toneDuration, toneInterval time.Duration) error {
	return c.leg.SendDTMF(ctx, digits, toneDuration, toneInterval)
}

// startDTMF queues every digit the caller sends for ReadDigit; a full
// queue drops the oldest digit rather than blocking the media side.
func (c *Call) startDTMF() {
	events, cancel := c.leg.SubscribeDTMF()
	c.stopDTMF = cancel
	go func() {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return
				}
				c.logf(slog.LevelDebug, "media", "DTMF %c", ev.Digit)
				for {
					select {
					case c.digits <- ev.Digit:
					default:
						select {
						case <-c.digits:
						default:
						}
						continue
					}
					break
				}
			case <-c.ctx.Done():
				return
			}
		}
	}()
}

func (c *Call) ReadDigit(ctx context.Context) (byte, error) {
	select {
	case d := <-c.digits:
		return byte(d), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (c *Call) DiscardDigits() {
	for {
		select {
		case <-c.digits:
		default:
			return
		}
	}
}

func (c *Call) StartGather(ctx context.Context, g *bxml.StartGather) error {
	c.StopGather(ctx)
	events, unsubscribe := c.leg.SubscribeDTMF()
	gctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	c.gatherStop = cancel
	c.mu.Unlock()
	target := g.DtmfTarget()
	go func() {
		defer unsubscribe()
		for {
			select {
			case ev := <-events:
				c.notify(target, &bxml.DtmfEvent{Digit: string(ev.Digit)})
			case <-gctx.Done():
				return
			}
		}
	}()
	return nil
}

func (c *Call) StopGather(context.Context) error {
	c.mu.Lock()
	stop := c.gatherStop
	c.gatherStop = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	return nil
}

func (c *Call) SetTag(tag string) {
	c.mu.Lock()
	c.info.Tag = tag
	c.mu.Unlock()
}

// stopBackground ends what verbs left running: StartGather, StartRecording
// (kept and indexed), the DTMF queue.
func (c *Call) stopBackground() {
	c.StopGather(context.Background())
	if err := c.StopRecording(context.Background()); err != nil {
		c.logf(slog.LevelWarn, "media", "%v", err)
	}
	if c.stopDTMF != nil {
		c.stopDTMF()
	}
}
