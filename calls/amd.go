package calls

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
)

// Answering machine detection modes (createCall's machineDetection.mode).
const (
	AMDSync  = "sync"
	AMDAsync = "async"
)

// maxAMDTimeout bounds each timing parameter, so a typo cannot hold a call's
// answer callback for hours.
const maxAMDTimeout = 10 * time.Minute

// MachineDetection is createCall's machineDetection: detect whether a
// person or an answering machine answered. In sync mode the answer callback
// waits for the result and carries it; in async mode the answer callback
// goes at once and the result follows as machineDetectionComplete to
// Callback (the answer URL when Callback has none), whose BXML, if any,
// replaces what the call runs.
type MachineDetection struct {
	Mode string // AMDSync or AMDAsync; "" is async
	speech.AMDConfig
	Callback bxml.Target
}

func (m *MachineDetection) validate() error {
	if m == nil {
		return nil
	}
	if m.Mode != "" && m.Mode != AMDSync && m.Mode != AMDAsync {
		return &store.ValidationError{Field: "machineDetection.mode", Value: m.Mode, Reason: "must be sync or async"}
	}
	for _, p := range []struct {
		field string
		v     time.Duration
	}{
		{"detectionTimeout", m.DetectionTimeout}, {"silenceTimeout", m.SilenceTimeout},
		{"speechThreshold", m.SpeechThreshold}, {"speechEndThreshold", m.SpeechEndThreshold},
		{"machineSpeechEndThreshold", m.MachineSpeechEndThreshold},
	} {
		if p.v < 0 || p.v > maxAMDTimeout {
			return &store.ValidationError{Field: "machineDetection." + p.field, Value: fmt.Sprint(p.v.Seconds()),
				Reason: fmt.Sprintf("must be between 0 and %v seconds", maxAMDTimeout.Seconds())}
		}
	}
	for _, u := range []struct{ field, v string }{{"callbackUrl", m.Callback.URL}, {"fallbackUrl", m.Callback.FallbackURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return &store.ValidationError{Field: "machineDetection." + u.field, Value: u.v, Reason: "must be an absolute http:// or https:// URL"}
		}
	}
	return nil
}

// answerEvent starts answering machine detection on the answered call, if
// createCall asked for it, and returns the answer event: in sync mode once
// detection decided, with its result.
func (c *Call) answerEvent(md *MachineDetection, answer bxml.Target) *bxml.AnswerEvent {
	ev := &bxml.AnswerEvent{}
	if md == nil {
		return ev
	}
	if md.Mode == AMDSync {
		ev.MachineDetectionResult = c.detectMachine(md.AMDConfig)
		return ev
	}
	target := md.Callback
	if target.URL == "" {
		target = answer
	}
	if target.Timeout == 0 {
		target.Timeout = answer.Timeout // createCall's callbackTimeout
	}
	c.e.wg.Add(1)
	go func() {
		defer c.e.wg.Done()
		res := c.detectMachine(md.AMDConfig)
		if c.ctx.Err() != nil {
			return
		}
		c.machineDetected(target, res)
	}()
	return ev
}

// machineDetected sends machineDetectionComplete; BXML in the answer
// interrupts the running program and runs instead.
func (c *Call) machineDetected(t bxml.Target, res *bxml.MachineDetectionResult) {
	req := c.request(t, &bxml.MachineDetectionCompleteEvent{MachineDetectionResult: res})
	reply, err := c.e.source.Fetch(c.ctx, req)
	if err != nil {
		c.logf(slog.LevelWarn, "callback", "machineDetectionComplete: %v", err)
		return
	}
	if reply.Doc == nil {
		return
	}
	err = c.Redirect(func(context.Context) (*bxml.Document, error) {
		if reply.URL != "" {
			c.mu.Lock()
			c.base = reply.URL
			c.mu.Unlock()
		}
		return reply.Doc, nil
	})
	if err != nil {
		c.logf(slog.LevelWarn, "callback", "machineDetectionComplete BXML not run: %v", err)
	}
}

// detectMachine listens to the callee until the detector decides or the
// call ends. The detector runs on the leg's packet path; this goroutine
// only wakes at the detector's deadlines, for the time no audio came.
func (c *Call) detectMachine(cfg speech.AMDConfig) *bxml.MachineDetectionResult {
	start := time.Now()
	result := func(dec speech.AMDDecision) *bxml.MachineDetectionResult {
		c.logf(slog.LevelInfo, "media", "machine detection: %s after %v (%s)", dec.Result, dec.After.Round(time.Millisecond), dec.Reason)
		return &bxml.MachineDetectionResult{Value: string(dec.Result), Duration: bxml.ISODuration(dec.After)}
	}
	var mu sync.Mutex
	d := speech.NewDetector(cfg, start)
	decided := make(chan speech.AMDDecision, 1)
	stop, ok := c.leg.ListenReceived(func(pcm []int16) {
		mu.Lock()
		dec, done := d.Feed(time.Now(), pcm)
		mu.Unlock()
		if done {
			select {
			case decided <- dec:
			default:
			}
		}
	})
	defer stop()
	if !ok {
		codec, _ := c.leg.Codec()
		return result(speech.AMDDecision{Result: speech.AMDError, Reason: "the callee's codec " + codec.Name + " cannot be decoded"})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		mu.Lock()
		wait := time.Until(d.Deadline())
		mu.Unlock()
		// A deadline that passed undecided (a beep still sounding) is
		// checked again a frame later rather than in a busy loop; every
		// deadline is at most detectionTimeout away, where Check decides.
		timer.Reset(max(wait, 20*time.Millisecond))
		select {
		case dec := <-decided:
			return result(dec)
		case now := <-timer.C:
			mu.Lock()
			dec, done := d.Check(now)
			mu.Unlock()
			if done {
				return result(dec)
			}
		case <-c.ctx.Done():
			return result(speech.AMDDecision{Result: speech.AMDError, After: time.Since(start), Reason: "the call ended"})
		}
	}
}
