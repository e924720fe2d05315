package calls

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/sip"
)

// createCall's privacy, uui, displayName and tag reach the INVITE and the
// callbacks.
func TestCreateCallPrivacyUUIAndTag(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventAnswer, `<Response><Hangup/></Response>`)
	tag := "crm-42"
	_, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111",
		DisplayName: "Support", Privacy: true, UUI: "aGVsbG8;encoding=base64", Tag: &tag, AnswerURL: "http://app.test/answer",
		CallbackTimeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	answer := b.source.wait(t, bxml.EventAnswer)
	if ev := answer.Event.(*bxml.AnswerEvent); ev.Tag != tag {
		t.Errorf("answer tag %q, want %q", ev.Tag, tag)
	}
	// callbackTimeout bounds every callback of the call, not only the answer.
	if disc := b.source.wait(t, bxml.EventDisconnect); answer.Target.Timeout != 7*time.Second || disc.Target.Timeout != 7*time.Second {
		t.Errorf("callback timeouts %s and %s, want 7s", answer.Target.Timeout, disc.Target.Timeout)
	}
	r := b.dialer.requests()
	if len(r) != 1 {
		t.Fatalf("%d INVITEs", len(r))
	}
	if !r[0].Privacy || r[0].DisplayName != "Support" || r[0].From != "sip:+15550001111@sip.test" {
		t.Errorf("INVITE %+v: want privacy, display name Support and the real From (sip hides it)", r[0])
	}
	if !slices.Contains(r[0].Headers, sip.Header{Name: "User-to-User", Value: "aGVsbG8;encoding=base64"}) {
		t.Errorf("INVITE headers %v lack User-to-User", r[0].Headers)
	}
}

// Completing an outbound call that still rings cancels it (cause cancel,
// as Bandwidth reports it); while it rings it is in the account's queue
// figure. updateCall's tag replaces the tag of later callbacks.
func TestCompleteRingingCallCancels(t *testing.T) {
	b := newBed(t)
	b.dialer.ring, b.dialer.ringing = true, make(chan sip.DialRequest, 1)
	rec, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111", AnswerURL: "http://app.test/answer"})
	if err != nil {
		t.Fatal(err)
	}
	<-b.dialer.ringing
	if n := b.e.QueuedCalls(b.acct); n != 1 {
		t.Errorf("queued calls %d, want 1", n)
	}
	if err := b.e.SetCallTag(b.acct, rec.ID, "later"); err != nil {
		t.Fatal(err)
	}
	if err := b.e.HangupCall(b.acct, rec.ID); err != nil {
		t.Fatal(err)
	}
	disc := b.source.wait(t, bxml.EventDisconnect).Event.(*bxml.DisconnectEvent)
	if disc.Cause != bxml.CauseCancel || disc.Tag != "later" {
		t.Errorf("disconnect cause %q tag %q, want cancel and later", disc.Cause, disc.Tag)
	}
	if got := b.record(rec.ID); got.DisconnectCause != bxml.CauseCancel {
		t.Errorf("record cause %q, want cancel", got.DisconnectCause)
	}
	if n := b.e.QueuedCalls(b.acct); n != 0 {
		t.Errorf("queued calls after the end %d, want 0", n)
	}
}
