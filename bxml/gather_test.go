package bxml

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// sendAfterPrompt types digits once the first prompt has started, the way
// a caller presses keys while hearing the menu.
func sendAfterPrompt(t *testing.T, c *fakeCall, digits string) {
	testenv.Go(t, func(ctx context.Context) error {
		select {
		case <-c.speaking:
		case <-ctx.Done():
			return nil
		}
		for i := range len(digits) {
			select {
			case c.digits <- digits[i]:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	})
}

func runGather(t *testing.T, c *fakeCall, doc string) *GatherEvent {
	t.Helper()
	out, err := Run(testCtx(t), mustParse(t, doc), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Kind != OutcomeCallback || out.Verb != "Gather" {
		t.Fatalf("outcome = %+v", out)
	}
	ev, ok := out.Event.(*GatherEvent)
	if !ok {
		t.Fatalf("event = %T", out.Event)
	}
	return ev
}

func TestGatherDigitInterruptsPrompts(t *testing.T) {
	c := newFakeCall()
	c.blockPrompts = true
	c.speaking = make(chan struct{}, 4)
	sendAfterPrompt(t, c, "1#")
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" terminatingDigits="#">
		<SpeakSentence>menu</SpeakSentence><PlayAudio>http://x/never.wav</PlayAudio></Gather><Hangup/></Response>`)
	if ev.Digits != "1" || ev.TerminatingDigit != "#" {
		t.Errorf("event = %+v", ev)
	}
	want := []string{"answer", "speak:menu", "interrupted"}
	if got := c.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestGatherMaxDigits(t *testing.T) {
	c := newFakeCall()
	c.speaking = make(chan struct{}, 4)
	sendAfterPrompt(t, c, "1234")
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" maxDigits="3"><SpeakSentence>menu</SpeakSentence></Gather></Response>`)
	if ev.Digits != "123" || ev.TerminatingDigit != "" {
		t.Errorf("event = %+v", ev)
	}
	if n := len(c.digits); n != 1 {
		t.Errorf("%d digits left queued, want 1 (the 4)", n)
	}
}

func TestGatherInterDigitTimeout(t *testing.T) {
	c := newFakeCall()
	c.speaking = make(chan struct{}, 4)
	sendAfterPrompt(t, c, "12")
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" interDigitTimeout="1" terminatingDigits="#"><SpeakSentence>menu</SpeakSentence></Gather></Response>`)
	if ev.Digits != "12" || ev.TerminatingDigit != "" {
		t.Errorf("event = %+v", ev)
	}
}

func TestGatherTerminatorFirst(t *testing.T) {
	c := newFakeCall()
	c.speaking = make(chan struct{}, 4)
	sendAfterPrompt(t, c, "*")
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" terminatingDigits="#*"><SpeakSentence>menu</SpeakSentence></Gather></Response>`)
	if ev.Digits != "" || ev.TerminatingDigit != "*" {
		t.Errorf("event = %+v", ev)
	}
}

func TestGatherRepeatCountThenTimeout(t *testing.T) {
	c := newFakeCall()
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" repeatCount="3" firstDigitTimeout="0">
		<SpeakSentence>one</SpeakSentence><PlayAudio>http://x/two.wav</PlayAudio></Gather></Response>`)
	if ev.Digits != "" || ev.TerminatingDigit != "" {
		t.Errorf("event = %+v", ev)
	}
	want := []string{"answer"}
	for range 3 {
		want = append(want, "speak:one", "play:http://x/two.wav")
	}
	if got := c.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestGatherDiscardsEarlyDigits(t *testing.T) {
	c := newFakeCall()
	c.digits <- '9' // pressed before the Gather started
	c.speaking = make(chan struct{}, 4)
	sendAfterPrompt(t, c, "1#")
	ev := runGather(t, c, `<Response><Gather gatherUrl="/g" terminatingDigits="#"><SpeakSentence>menu</SpeakSentence></Gather></Response>`)
	if ev.Digits != "1" {
		t.Errorf("digits = %q, want 1", ev.Digits)
	}
}

func TestGatherReadErrorStopsPrompt(t *testing.T) {
	c := newFakeCall()
	c.blockPrompts = true
	c.readErr = errFake
	_, err := Run(testCtx(t), mustParse(t, `<Response><Gather gatherUrl="/g"><SpeakSentence>menu</SpeakSentence></Gather></Response>`), c)
	if !errors.Is(err, errFake) {
		t.Fatalf("err = %v", err)
	}
	// Run returned only after the prompt goroutine ended.
	if log := c.Log(); log[len(log)-1] != "interrupted" {
		t.Errorf("log = %q", log)
	}
}

func TestGatherPromptError(t *testing.T) {
	c := newFakeCall()
	c.failOn = "speak"
	_, err := Run(testCtx(t), mustParse(t, `<Response><Gather gatherUrl="/g"><SpeakSentence>menu</SpeakSentence></Gather></Response>`), c)
	if !errors.Is(err, errFake) {
		t.Errorf("err = %v", err)
	}
}

func TestGatherNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 100 {
		c := newFakeCall()
		c.blockPrompts = true
		c.speaking = make(chan struct{}, 4)
		sendAfterPrompt(t, c, "5#")
		runGather(t, c, `<Response><Gather gatherUrl="/g" terminatingDigits="#"><SpeakSentence>menu</SpeakSentence></Gather></Response>`)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after 100 gathers, %d before", n, before)
	}
}
