package calls

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

// An inbound call asks the source for BXML, is answered when a verb needs
// media, hangs up as the document says, and leaves its record and a
// disconnect callback, in that order.
func TestInboundCallRunsProgram(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="0.05"/><Hangup/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	initiate := b.source.wait(t, bxml.EventInitiate)
	if initiate.Target.URL != "http://app.test/initiate" || initiate.Call == nil || initiate.Call.Application().ID != b.app.ID {
		t.Fatalf("initiate request %+v", initiate)
	}
	ev := initiate.Event.(*bxml.InitiateEvent)
	if ev.From != "+15550001111" || ev.Direction != "inbound" || ev.AccountID != b.acct || ev.CallURL != "http://api.test/api/v2/accounts/"+b.acct+"/calls/"+ev.CallID {
		t.Errorf("initiate event %+v", ev)
	}
	waitClosed(t, leg.answered, "answer")
	disc := b.source.wait(t, bxml.EventDisconnect)
	if c := disc.Event.(*bxml.DisconnectEvent).Cause; c != bxml.CauseHangup || disc.Target.URL != "http://app.test/status" {
		t.Errorf("disconnect %s to %s", c, disc.Target.URL)
	}
	waitClosed(t, done, "call end")
	if leg.hangups() != 1 {
		t.Errorf("%d BYEs, want 1", leg.hangups())
	}
	rec := b.record(ev.CallID)
	if rec.State != stateDisconnected || rec.DisconnectCause != bxml.CauseHangup || rec.SIPCallID != "sip-call-1" || rec.AnswerTime.IsZero() {
		t.Errorf("record %+v", rec)
	}
	if got := b.source.types(); !slices.Equal(got, []bxml.EventType{bxml.EventInitiate, bxml.EventDisconnect}) {
		t.Errorf("events %v", got)
	}
}

// A document that hangs up before anything answered rejects the INVITE.
func TestHangupBeforeAnswerRejects(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Hangup/></Response>`)
	leg := newFakeInbound()
	waitClosed(t, b.invite(leg), "call end")
	if status, reason := leg.rejection(); status != 603 || reason != "Decline" {
		t.Errorf("rejected with %d %s, want 603 Decline", status, reason)
	}
	// The record keeps what the INVITE was answered with.
	id := b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID
	if rec := b.record(id); rec.SIPRoute.Status != 603 || rec.SIPRoute.Reason != "Decline" {
		t.Errorf("record's SIP response %d %q", rec.SIPRoute.Status, rec.SIPRoute.Reason)
	}
	if leg.hangups() != 0 {
		t.Error("a BYE for a call never answered")
	}
}

// The caller's BYE ends the call mid-verb; the engine sends no BYE of its
// own, and the SIP side's reason is the cause.
func TestCallerHangsUp(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	waitClosed(t, leg.answered, "answer")
	leg.end(sip.EndRemoteBye)
	disc := b.source.wait(t, bxml.EventDisconnect)
	waitClosed(t, done, "call end")
	if c := disc.Event.(*bxml.DisconnectEvent).Cause; c != bxml.CauseHangup {
		t.Errorf("cause %s", c)
	}
	if leg.hangups() != 0 {
		t.Error("the engine sent BYE on a leg the caller hung up")
	}
	if rec := b.record(disc.Event.(*bxml.DisconnectEvent).CallID); rec.SIPRoute.Status != 200 {
		t.Errorf("answered call's SIP response %d", rec.SIPRoute.Status)
	}
}

// A CANCEL while the application is still deciding ends the call as
// cancelled, not as an error of the pending callback.
func TestCancelWhileInitiatePending(t *testing.T) {
	b := newBed(t)
	b.source.block[bxml.EventInitiate] = true
	leg := newFakeInbound()
	done := b.invite(leg)
	initiate := b.source.wait(t, bxml.EventInitiate)
	leg.end(sip.EndCanceled)
	waitClosed(t, done, "call end")
	rec := b.record(initiate.Event.(*bxml.InitiateEvent).CallID)
	if rec.DisconnectCause != bxml.CauseCancel || rec.ErrorMessage != "" || rec.SIPRoute.Status != 487 {
		t.Errorf("record %s %q, SIP %d", rec.DisconnectCause, rec.ErrorMessage, rec.SIPRoute.Status)
	}
}

// The sip.inbound hook can refuse the INVITE (no call starts) or route it
// to another application of the account.
func TestSIPInboundHook(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		b := newBed(t)
		b.hooks.inbound = callflow.InviteDecision{Status: 403, Reason: "Not Today"}
		leg := newFakeInbound()
		waitClosed(t, b.invite(leg), "call end")
		if status, reason := leg.rejection(); status != 403 || reason != "Not Today" {
			t.Errorf("rejected with %d %s", status, reason)
		}
		if got := b.source.types(); len(got) != 0 {
			t.Errorf("events of a refused call: %v", got)
		}
	})
	t.Run("route", func(t *testing.T) {
		b := newBed(t)
		other, err := b.store.CreateApplication(context.Background(), store.Application{AccountID: b.acct, Name: "other",
			CallInitiatedCallbackURL: "http://other.test/initiate"})
		if err != nil {
			t.Fatal(err)
		}
		b.hooks.inbound = callflow.InviteDecision{Application: &other}
		b.source.answer(bxml.EventInitiate, `<Response><Hangup/></Response>`)
		waitClosed(t, b.invite(newFakeInbound()), "call end")
		initiate := b.source.wait(t, bxml.EventInitiate)
		if initiate.Target.URL != "http://other.test/initiate" || initiate.Event.(*bxml.InitiateEvent).ApplicationID != other.ID {
			t.Errorf("initiate went to %s for %s", initiate.Target.URL, initiate.Event.(*bxml.InitiateEvent).ApplicationID)
		}
	})
}

// A transfer to a phone number goes through the trunks (with the call's
// variables) and the sip.outbound hook, bridges the answered leg, and
// reports transferComplete when the callee hangs up.
func TestTransferToNumber(t *testing.T) {
	b := newBed(t)
	b.dialer.dialed = make(chan *fakeOutbound, 1)
	b.source.answer(bxml.EventInitiate, `<Response><Transfer transferCallerId="+15550009999" transferCompleteUrl="http://app.test/complete">`+
		`<PhoneNumber transferAnswerUrl="http://app.test/tanswer" transferDisconnectUrl="http://app.test/tdisc">+14155550100</PhoneNumber></Transfer></Response>`)
	b.source.answer(bxml.EventTransferComplete, `<Response><Hangup/></Response>`)
	b.source.vars = map[string]string{"tenant": "acme"}
	leg := newFakeInbound()
	done := b.invite(leg)
	initiate := b.source.wait(t, bxml.EventInitiate)
	var callee *fakeOutbound
	select {
	case callee = <-b.dialer.dialed:
	case <-time.After(10 * time.Second):
		t.Fatal("the transfer dialled nothing")
	}
	answer := b.source.wait(t, bxml.EventTransferAnswer)
	if ev := answer.Event.(*bxml.TransferAnswerEvent); ev.TransferTo != "+14155550100" || ev.TransferCallerID != "+15550009999" {
		t.Errorf("transferAnswer %+v", ev)
	}
	callee.end(sip.EndRemoteBye)
	tdisc := b.source.wait(t, bxml.EventTransferDisconnect)
	complete := b.source.wait(t, bxml.EventTransferComplete)
	if c := complete.Event.(*bxml.TransferCompleteEvent).Cause; c != bxml.CauseHangup || tdisc.Target.URL != "http://app.test/tdisc" {
		t.Errorf("transferComplete cause %s, transferDisconnect to %s", c, tdisc.Target.URL)
	}
	waitClosed(t, done, "call end")
	reqs := b.dialer.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d INVITEs", len(reqs))
	}
	r := reqs[0]
	if r.URI != "sip:+14155550100@trunk.test" || r.Username != "acme" || r.From != "sip:+15550009999@sip.test" ||
		!slices.Contains(r.Headers, sip.Header{Name: "X-Trunk", Value: "acme"}) || !slices.Contains(r.Headers, sip.Header{Name: "X-Hook", Value: "seen"}) {
		t.Errorf("INVITE %+v", r)
	}
	bRec := b.record(answer.Event.(*bxml.TransferAnswerEvent).CallID)
	wantRoute := store.CallSIPRoute{PhoneNumber: "+14155550100", ConfigurationID: "cfg-+14155550100", TrunkID: "trunk-1", Status: 200, Reason: "OK"}
	if bRec.ParentCallID != initiate.Event.(*bxml.InitiateEvent).CallID || bRec.Direction != "outbound" || bRec.SIPCallID != "out-1" ||
		bRec.SIPRoute != wantRoute {
		t.Errorf("B-leg record %+v", bRec)
	}
}

// createCall validates what it is given and places the call through the
// dialer; the answered call runs the answer callback's BXML.
func TestCreateCall(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	b.trunks.noRoute = true
	_, err := b.e.CreateCall(ctx, b.acct, CallRequest{ApplicationID: b.app.ID, To: "+14155550100", From: "+15550001111", AnswerURL: "http://app.test/answer"})
	var ve *store.ValidationError
	if !errors.As(err, &ve) || ve.Field != "to" {
		t.Fatalf("no route: %v", err)
	}
	for _, bad := range []CallRequest{
		{ApplicationID: "nope", To: "sip:bob@x.test", From: "+15550001111"},
		{ApplicationID: b.app.ID, To: "bob", From: "+15550001111"},
		{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "bob"},
		{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111", AnswerURL: "/relative"},
	} {
		if _, err := b.e.CreateCall(ctx, b.acct, bad); !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want a validation error", bad, err)
		}
	}
	b.source.answer(bxml.EventAnswer, `<Response><Hangup/></Response>`)
	rec, err := b.e.CreateCall(ctx, b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111",
		AnswerURL: "http://app.test/answer", DisconnectURL: "http://app.test/bye", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != stateInitiated || rec.Direction != "outbound" {
		t.Errorf("created %+v", rec)
	}
	answer := b.source.wait(t, bxml.EventAnswer)
	if answer.Target.URL != "http://app.test/answer" || answer.Target.Method != "POST" || answer.Target.Username != "u" {
		t.Errorf("answer target %+v", answer.Target)
	}
	disc := b.source.wait(t, bxml.EventDisconnect)
	if disc.Target.URL != "http://app.test/bye" {
		t.Errorf("disconnect to %s", disc.Target.URL)
	}
	if r := b.dialer.requests(); len(r) != 1 || r[0].URI != "sip:bob@x.test" || r[0].From != "sip:+15550001111@sip.test" {
		t.Errorf("INVITEs %+v", r)
	}
	if got := b.record(rec.ID); got.DisconnectCause != bxml.CauseHangup || b.dialer.legs[0].hangups() != 1 {
		t.Errorf("record %+v, BYEs %d", got, b.dialer.legs[0].hangups())
	}
}

// A callee that refuses makes the outbound call end with the cause the SIP
// status maps to.
func TestCreateCallBusy(t *testing.T) {
	b := newBed(t)
	b.dialer.refuse = &sip.DialError{Status: 486, Reason: "Busy Here"}
	rec, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: "+15550001111", AnswerURL: "http://app.test/answer"})
	if err != nil {
		t.Fatal(err)
	}
	disc := b.source.wait(t, bxml.EventDisconnect)
	if c := disc.Event.(*bxml.DisconnectEvent).Cause; c != bxml.CauseBusy {
		t.Errorf("cause %s, want busy", c)
	}
	if got := b.record(rec.ID); got.DisconnectCause != bxml.CauseBusy || !got.AnswerTime.IsZero() ||
		got.SIPRoute != (store.CallSIPRoute{Status: 486, Reason: "Busy Here"}) {
		t.Errorf("record %+v", got)
	}
}

// updateCall's replacement BXML interrupts the running verb; hanging up a
// live call ends it; a call that is not live is ErrNotLive.
func TestControlLiveCall(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	id := b.source.wait(t, bxml.EventInitiate).Event.(*bxml.InitiateEvent).CallID
	waitClosed(t, leg.answered, "answer")
	// The fake leg reports its answer before the engine marks the call
	// answered: wait for the state, not for the leg.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		live, ok := b.e.LiveCall(b.acct, id)
		if ok && live.State == stateAnswered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live call %+v %v", live, ok)
		}
	}
	if _, ok := b.e.LiveCall("another-account", id); ok {
		t.Error("a call is visible to another account")
	}
	doc, err := bxml.Parse([]byte(`<Response><Tag>replaced</Tag><Hangup/></Response>`))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.e.ReplaceCallBXML(b.acct, id, doc); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, done, "call end")
	if rec := b.record(id); rec.Tag != "replaced" || rec.DisconnectCause != bxml.CauseHangup {
		t.Errorf("record %+v", rec)
	}
	for _, err := range []error{b.e.HangupCall(b.acct, id), b.e.ReplaceCallBXML(b.acct, id, doc), b.e.RedirectCall(b.acct, id, bxml.Target{URL: "http://x"})} {
		if !errors.Is(err, ErrNotLive) {
			t.Errorf("ended call: %v, want ErrNotLive", err)
		}
	}
}

// Shutdown hangs up every live call and waits for them.
func TestShutdownEndsCalls(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Pause duration="30"/></Response>`)
	leg := newFakeInbound()
	done := b.invite(leg)
	waitClosed(t, leg.answered, "answer")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, done, "call end")
	if leg.hangups() != 1 {
		t.Errorf("%d BYEs, want 1", leg.hangups())
	}
	if disc := b.source.wait(t, bxml.EventDisconnect); disc.Event.(*bxml.DisconnectEvent).ErrorMessage != "server shutting down" {
		t.Errorf("disconnect %+v", disc.Event)
	}
	// A new call after shutdown is refused.
	leg2 := newFakeInbound()
	waitClosed(t, b.invite(leg2), "refusal")
	if status, _ := leg2.rejection(); status != 503 {
		t.Errorf("after shutdown: %d, want 503", status)
	}
}
