package calls

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/sip"
)

// fakeCallerIDs verifies the numbers in verified, refusing others the way
// trunkops.Verifier does.
type fakeCallerIDs struct {
	verified map[string]bool
}

func (f fakeCallerIDs) CheckCallerID(_ context.Context, _ string, from string) error {
	if !strings.HasPrefix(from, "+") || f.verified[from] {
		return nil
	}
	return fmt.Errorf("%w: %s is not verified for this account", ErrCallerIDRefused, from)
}

// A leg out through a trunk presents its caller ID to a carrier, so
// <Transfer> and <Forward> refuse an unverified one as createCall does;
// the inbound caller's own number passes along (Bandwidth's default
// transferCallerId) and a SIP URI target is not checked.
func TestTransferCallerIDVerification(t *testing.T) {
	const verified, unverified, callee = "+15550002222", "+15550009999", "+14155550100"
	transfer := func(callerID, target string) string {
		attr := ""
		if callerID != "" {
			attr = ` transferCallerId="` + callerID + `"`
		}
		return `<Response><Transfer transferCompleteUrl="http://app.test/complete"` + attr + `>` + target + `</Transfer></Response>`
	}
	number := `<PhoneNumber>` + callee + `</PhoneNumber>`
	for _, tc := range []struct {
		name, doc, wantFrom string
		refused             bool
	}{
		{"the caller's own number passes along", transfer("", number), "sip:+15550001111@sip.test", false},
		{"a verified number", transfer(verified, number), "sip:" + verified + "@sip.test", false},
		{"an unverified number", transfer(unverified, number), "", true},
		{"an unverified number to a SIP URI", transfer(unverified, `<SipUri>sip:agent@pbx.test</SipUri>`), "sip:" + unverified + "@sip.test", false},
		{"Forward from an unverified number", `<Response><Forward to="` + callee + `" from="` + unverified + `"/></Response>`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			b.e.callerIDs = fakeCallerIDs{verified: map[string]bool{verified: true}}
			b.source.answer(bxml.EventInitiate, tc.doc)
			b.source.answer(bxml.EventTransferComplete, `<Response><Hangup/></Response>`)
			b.dialer.dialed = make(chan *fakeOutbound, 1)
			leg := newFakeInbound()
			done := b.invite(leg)
			if tc.refused {
				if strings.Contains(tc.doc, "<Transfer") {
					ev := b.source.wait(t, bxml.EventTransferComplete).Event.(*bxml.TransferCompleteEvent)
					if ev.Cause != bxml.CauseError || !strings.Contains(ev.ErrorMessage, unverified+" is not verified") {
						t.Errorf("transferComplete %+v", ev)
					}
				}
				waitClosed(t, done, "call end")
				if reqs := b.dialer.requests(); len(reqs) != 0 {
					t.Errorf("dialled %+v", reqs)
				}
				return
			}
			var out *fakeOutbound
			select {
			case out = <-b.dialer.dialed:
			case <-done:
				t.Fatal("the call ended without dialling")
			}
			out.end(sip.EndRemoteBye)
			waitClosed(t, done, "call end")
			if reqs := b.dialer.requests(); len(reqs) != 1 || reqs[0].From != tc.wantFrom {
				t.Errorf("dialled %+v, want one INVITE from %s", reqs, tc.wantFrom)
			}
		})
	}

	// An outbound call to a SIP URI is not checked at createCall (it goes to
	// that peer directly), but its caller ID is when its BXML transfers it
	// out through a trunk.
	t.Run("an outbound call's own number", func(t *testing.T) {
		b := newBed(t)
		b.e.callerIDs = fakeCallerIDs{verified: map[string]bool{verified: true}}
		b.source.answer(bxml.EventAnswer, transfer("", number))
		b.source.answer(bxml.EventTransferComplete, `<Response><Hangup/></Response>`)
		if _, err := b.e.CreateCall(context.Background(), b.acct, CallRequest{ApplicationID: b.app.ID, To: "sip:bob@x.test", From: unverified,
			AnswerURL: "http://app.test/answer"}); err != nil {
			t.Fatal(err)
		}
		ev := b.source.wait(t, bxml.EventTransferComplete).Event.(*bxml.TransferCompleteEvent)
		if ev.Cause != bxml.CauseError || !strings.Contains(ev.ErrorMessage, unverified+" is not verified") {
			t.Errorf("transferComplete %+v", ev)
		}
		b.source.wait(t, bxml.EventDisconnect)
		if reqs := b.dialer.requests(); len(reqs) != 1 || reqs[0].URI != "sip:bob@x.test" {
			t.Errorf("dialled %+v, want only the SIP URI", reqs)
		}
	})

	// A system call (a verification or test call) rings a number from
	// itself: that is how the number gets verified, so it is not checked.
	t.Run("a system call to an unverified number", func(t *testing.T) {
		b := newBed(t)
		b.e.callerIDs = fakeCallerIDs{}
		doc, err := bxml.Parse([]byte(`<Response><Hangup/></Response>`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.e.SystemCall(context.Background(), SystemCall{AccountID: b.acct, Number: unverified, Tag: "sip-test-call", Ring: time.Second, Doc: doc}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(b.dialer.requests()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if reqs := b.dialer.requests(); len(reqs) != 1 || reqs[0].From != "sip:"+unverified+"@sip.test" {
			t.Errorf("dialled %+v, want one INVITE from %s", reqs, unverified)
		}
	})

	// A blind REFER to a number is refused up front (403 with the reason)
	// when the leg would present an unverified caller ID; an inbound
	// caller's own number passes along.
	t.Run("a REFER to a number", func(t *testing.T) {
		b := newBed(t)
		b.e.callerIDs = fakeCallerIDs{verified: map[string]bool{verified: true}}
		for _, tc := range []struct {
			direction, from string
			want            int
		}{
			{"outbound", unverified, 403},
			{"outbound", verified, 0},
			{"inbound", unverified, 0},
		} {
			c := newCall(b.e, b.app, tc.direction)
			c.info.From = tc.from
			_, _, status, why := c.referTarget(context.Background(), nil, &sip.Refer{Target: "tel:" + callee})
			if status != tc.want || (tc.want == 403 && !strings.Contains(why, unverified+" is not verified")) {
				t.Errorf("%s call from %s: REFER answered %d %q, want %d", tc.direction, tc.from, status, why, tc.want)
			}
		}
	})
}
