package server

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/sip"
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

// A trunk's codec settings order the answer to its own INVITEs too: a
// carrier offering PCMU then PCMA gets PCMA when the number prefers it, or
// when PCMU is disabled.
func TestTrunkCodecsOrderTheInboundAnswer(t *testing.T) {
	n := startNode(t)
	const num = "+14155550124"
	h := newHook(t, func(ev event) string {
		if ev.Path == "/initiate" {
			return `<Response><Pause duration="10"/></Response>`
		}
		return ""
	})
	appID, _ := n.app(t, map[string]any{"callInitiatedCallbackUrl": h.url("/initiate")})
	carrier := newPhone(t, 'C', false)
	n.attachSIP(t, map[string]any{"phone_number": num, "directions": []any{map[string]any{
		"type": "inbound", "application_id": appID, "sip_endpoint": "sip:127.0.0.1"}}})
	mline := regexp.MustCompile(`m=audio \d+ RTP/AVP ([0-9 ]+)`)
	answerFor := func(codecs []any) string {
		t.Helper()
		if code, b := n.rawJSON(t, "PATCH", "/v1/sip/config", "", map[string]any{"phone_number": num, "codecs": map[string]any{"codecs": codecs}}); code != 200 {
			t.Fatalf("patch codecs: %d %s", code, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		offer := fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
			carrier.rtp.LocalAddr().(*net.UDPAddr).Port)
		call, err := carrier.srv.Dial(ctx, sip.DialRequest{URI: "sip:" + num + "@" + n.sip, From: "sip:+15550002222@127.0.0.1", SDP: offer})
		if err != nil {
			t.Fatalf("the carrier's call: %v", err)
		}
		defer call.Hangup(context.Background())
		m := mline.FindStringSubmatch(string(call.AnswerSDP()))
		if m == nil {
			t.Fatalf("the answer has no audio:\n%s", call.AnswerSDP())
		}
		return m[1]
	}
	for _, tc := range []struct {
		name   string
		codecs []any
		want   string
	}{
		{"PCMA preferred", []any{map[string]any{"name": "PCMA", "enabled": true}, map[string]any{"name": "PCMU", "enabled": true}}, "8 101"},
		{"PCMU disabled", []any{map[string]any{"name": "G722", "enabled": true}, map[string]any{"name": "PCMU", "enabled": false}}, "8 101"},
		{"PCMU preferred", []any{map[string]any{"name": "PCMU", "enabled": true}}, "0 101"},
	} {
		if got := answerFor(tc.codecs); got != tc.want {
			t.Errorf("%s: answered %q, want %q", tc.name, got, tc.want)
		}
	}
}
