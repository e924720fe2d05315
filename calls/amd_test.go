package calls

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/speech"
	"github.com/wasmvoice/wasmvoice/store"
)

// A callee that says nothing: in sync mode the answer callback waits for
// the detector and carries "silence"; in async mode it goes at once and
// machineDetectionComplete follows to the detection's own callback URL,
// whose BXML replaces the running program.
func TestMachineDetectionModes(t *testing.T) {
	quick := speech.AMDConfig{SilenceTimeout: 300 * time.Millisecond}
	t.Run("sync", func(t *testing.T) {
		b := newBed(t)
		b.source.answer(bxml.EventAnswer, `<Response><Hangup/></Response>`)
		start := time.Now()
		_, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111",
			AnswerURL: "http://app.test/answer", MachineDetection: &MachineDetection{Mode: AMDSync, AMDConfig: quick}})
		if err != nil {
			t.Fatal(err)
		}
		ans := b.source.wait(t, bxml.EventAnswer).Event.(*bxml.AnswerEvent)
		if r := ans.MachineDetectionResult; r == nil || r.Value != "silence" || r.Duration == "" {
			t.Fatalf("answer carries %+v, want silence", r)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("the answer callback came after %v, before silenceTimeout", d)
		}
		b.source.wait(t, bxml.EventDisconnect)
	})
	t.Run("async", func(t *testing.T) {
		b := newBed(t)
		b.source.answer(bxml.EventAnswer, `<Response><Pause duration="30"/></Response>`)
		b.source.answer(bxml.EventMachineDetectionComplete, `<Response><Hangup/></Response>`)
		_, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111",
			AnswerURL: "http://app.test/answer", MachineDetection: &MachineDetection{AMDConfig: quick,
				Callback: bxml.Target{URL: "http://app.test/amd", Method: "POST"}}})
		if err != nil {
			t.Fatal(err)
		}
		if ans := b.source.wait(t, bxml.EventAnswer).Event.(*bxml.AnswerEvent); ans.MachineDetectionResult != nil {
			t.Errorf("async answer carries %+v", ans.MachineDetectionResult)
		}
		req := b.source.wait(t, bxml.EventMachineDetectionComplete)
		ev := req.Event.(*bxml.MachineDetectionCompleteEvent)
		if req.Target.URL != "http://app.test/amd" || ev.MachineDetectionResult == nil || ev.MachineDetectionResult.Value != "silence" {
			t.Errorf("machineDetectionComplete to %s: %+v", req.Target.URL, ev.MachineDetectionResult)
		}
		if ev.CallID == "" || ev.AnswerTime.IsZero() {
			t.Errorf("machineDetectionComplete lacks the call's fields: %+v", ev)
		}
		// The Pause runs 30 s: only the callback's Hangup ends the call now.
		b.source.wait(t, bxml.EventDisconnect)
	})
	t.Run("invalid", func(t *testing.T) {
		b := newBed(t)
		for _, md := range []*MachineDetection{
			{Mode: "later"},
			{AMDConfig: speech.AMDConfig{DetectionTimeout: -time.Second}},
			{Callback: bxml.Target{URL: "/relative"}},
		} {
			_, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111",
				AnswerURL: "http://app.test/answer", MachineDetection: md})
			var ve *store.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%+v: %v, want a validation error", md, err)
			}
		}
	})
}
