package bxml

import (
	"context"
	"strings"
	"time"
)

type gatherResult struct {
	digits     string // without the terminating digit
	terminator string // "" when no terminating digit ended the gather
}

// gather runs a <Gather>: prompts play (up to repeatCount times, each
// followed by firstDigitTimeout of waiting) until the first digit, which
// interrupts them; then digits are collected until maxDigits, a
// terminating digit or interDigitTimeout of silence.
func gather(ctx context.Context, c Call, g *Gather) (gatherResult, error) {
	c.DiscardDigits()
	d, ok, err := firstDigit(ctx, c, g)
	if err != nil || !ok {
		return gatherResult{}, err
	}
	var digits []byte
	for {
		if strings.IndexByte(g.TerminatingDigits, d) >= 0 {
			return gatherResult{digits: string(digits), terminator: string(d)}, nil
		}
		digits = append(digits, d)
		if len(digits) >= g.MaxDigits {
			return gatherResult{digits: string(digits)}, nil
		}
		d, ok, err = readDigit(ctx, c, seconds(g.InterDigitTimeout))
		if err != nil {
			return gatherResult{}, err
		}
		if !ok {
			return gatherResult{digits: string(digits)}, nil
		}
	}
}

func firstDigit(ctx context.Context, c Call, g *Gather) (byte, bool, error) {
	if len(g.Prompts) == 0 {
		return readDigit(ctx, c, seconds(g.FirstDigitTimeout))
	}
	for range max(g.RepeatCount, 1) {
		d, ok, err := promptsUntilDigit(ctx, c, g.Prompts)
		if err != nil || ok {
			return d, ok, err
		}
		d, ok, err = readDigit(ctx, c, seconds(g.FirstDigitTimeout))
		if err != nil || ok {
			return d, ok, err
		}
	}
	return 0, false, nil
}

// readDigit waits up to timeout for a digit; ok is false on timeout.
func readDigit(ctx context.Context, c Call, timeout time.Duration) (byte, bool, error) {
	if timeout <= 0 {
		return 0, false, ctx.Err()
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err := c.ReadDigit(tctx)
	switch {
	case err == nil:
		return d, true, nil
	case ctx.Err() != nil:
		return 0, false, ctx.Err()
	case tctx.Err() != nil:
		return 0, false, nil
	}
	return 0, false, err
}

// promptsUntilDigit plays the prompts while waiting for a digit; the first
// digit stops the prompt being played. It owns the prompt goroutine and
// waits for it before returning.
func promptsUntilDigit(ctx context.Context, c Call, prompts []Prompt) (byte, bool, error) {
	pctx, stopPrompts := context.WithCancel(ctx)
	defer stopPrompts()
	rctx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	done := make(chan error, 1)
	go func() {
		var err error
		for _, p := range prompts {
			if err = playPrompt(pctx, c, p); err != nil {
				break
			}
		}
		stopRead() // the prompts are over: the caller waits firstDigitTimeout next
		done <- err
	}()
	d, rerr := c.ReadDigit(rctx)
	if rerr == nil {
		stopPrompts()
		<-done // the interrupted prompt reports ctx cancellation: expected
		return d, true, nil
	}
	if rctx.Err() == nil {
		// ReadDigit failed by itself (the call is gone).
		stopPrompts()
		<-done
		return 0, false, rerr
	}
	perr := <-done
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	return 0, false, perr
}

func playPrompt(ctx context.Context, c Call, p Prompt) error {
	switch p := p.(type) {
	case *SpeakSentence:
		return c.Speak(ctx, p)
	case *PlayAudio:
		return c.Play(ctx, p)
	}
	return nil
}
