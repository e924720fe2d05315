package server

import (
	"context"
	"regexp"
	"testing"
	"time"
)

// A trunk's codec settings shape the offer of a transfer to it: with
// transcoding off, only codecs the caller's own leg passes through are
// offered (the caller speaks μ-law: PCMU and PCMA, never G.722, even
// listed first); with transcoding on, G.722 leads the offer as listed.
func TestTrunkTranscodingSetting(t *testing.T) {
	n := startNode(t)
	carrier := newTrunkPeer(t, "carrier")
	const num = "+14155550123"
	n.attachSIP(t, map[string]any{"phone_number": num,
		"directions": []any{map[string]any{"type": "outbound", "sip_endpoint": carrier.uri()}}})
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Transfer><PhoneNumber transferAnswerUrl="/tanswer">` + num + `</PhoneNumber></Transfer></Response>`
		}
		return ""
	})
	appID := n.ipApp(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	mline := regexp.MustCompile(`m=audio \d+ RTP/AVP ([0-9 ]+)`)
	calls := 0
	offerFor := func(transcoding bool) string {
		t.Helper()
		if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num, "codecs": map[string]any{
			"codecs":      []any{map[string]any{"name": "G722", "enabled": true}, map[string]any{"name": "PCMU", "enabled": true}},
			"transcoding": transcoding,
		}}); code != 200 {
			t.Fatalf("patch codecs: %d %s", code, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		call, err := newPhone(t, 'A', false).dial(ctx, "sip:"+appID+"@"+n.sip, "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer call.Hangup(context.Background())
		m := mline.FindStringSubmatch(carrier.expectInvite(t).sdp)
		if m == nil {
			t.Fatal("the carrier's INVITE has no audio offer")
		}
		calls++
		h.waitCount("transferAnswer", calls, 10*time.Second) // the carrier answered: hanging up now ends a call, not its INVITE
		return m[1]
	}
	if got := offerFor(false); got != "0 8 101" {
		t.Errorf("transcoding off: offered %q, want only what the μ-law caller passes through (0 8 101)", got)
	}
	if got := offerFor(true); got[:4] != "9 0 " {
		t.Errorf("transcoding on: offered %q, want G.722 first as the trunk lists it", got)
	}
}
