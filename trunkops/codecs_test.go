package trunkops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"

// The codec list orders the offer's codecs, drops disabled ones with
// their attributes, keeps unlisted ones after the listed ones and
// telephone-event last, and never leaves the offer without an audio codec.
func TestReorderCodecs(t *testing.T) {
	on := func(n string) store.CodecSetting { return store.CodecSetting{Name: n, Enabled: true} }
	off := func(n string) store.CodecSetting { return store.CodecSetting{Name: n} }
	for _, tc := range []struct {
		name   string
		codecs []store.CodecSetting
		mline  string
		has    []string
		hasnt  []string
	}{
		{"none", nil, "m=audio 30000 RTP/AVP 0 8 101", nil, nil},
		{"pcma first", []store.CodecSetting{on("PCMA"), on("PCMU")}, "m=audio 30000 RTP/AVP 8 0 101", nil, nil},
		{"unlisted after", []store.CodecSetting{on("PCMA")}, "m=audio 30000 RTP/AVP 8 0 101", nil, nil},
		{"pcmu off", []store.CodecSetting{on("G722"), off("PCMU"), on("PCMA")}, "m=audio 30000 RTP/AVP 8 101", []string{"a=rtpmap:8 PCMA/8000", "a=fmtp:101 0-15"}, []string{"a=rtpmap:0 "}},
		{"all off", []store.CodecSetting{off("PCMU"), off("PCMA"), on("OPUS")}, "m=audio 30000 RTP/AVP 0 8 101", []string{"a=rtpmap:0 PCMU/8000"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(ReorderCodecs([]byte(offer), tc.codecs))
			if !contains(out, tc.mline+"\r\n") {
				t.Errorf("offer:\n%s\nwant %q", out, tc.mline)
			}
			for _, h := range tc.has {
				if !contains(out, h+"\r\n") {
					t.Errorf("offer lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tc.hasnt {
				if contains(out, h) {
					t.Errorf("offer keeps %q:\n%s", h, out)
				}
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Which failures move a call to the next server.
func TestTrunkFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&sip.DialError{Status: 486, Reason: "Busy Here"}, ""},
		{&sip.DialError{Status: 404}, ""},
		{&sip.TracedError{Err: &sip.DialError{Status: 401}}, store.TriggerAuthFailure},
		{&sip.DialError{Status: 403}, store.TriggerAuthFailure},
		{&sip.DialError{Status: 407}, store.TriggerAuthFailure},
		{&sip.DialError{Status: 503}, store.TriggerUnreachable},
		{&sip.DialError{Status: 408}, store.TriggerTimeout},
		{fmt.Errorf("%w within 2s", calls.ErrTrunkTimeout), store.TriggerTimeout},
		{fmt.Errorf("sip: dial x cancelled: %w", context.Canceled), ""},
		{fmt.Errorf("ring: %w", context.DeadlineExceeded), ""},
		{errors.New("sip: send INVITE: connection refused"), store.TriggerUnreachable},
	} {
		if got := trunkFailure(tc.err); got != tc.want {
			t.Errorf("trunkFailure(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A trunk's codec list orders the answer to its own INVITEs as it orders
// the offers of its outbound calls.
func TestAnswerCodecs(t *testing.T) {
	on := func(n string) store.CodecSetting { return store.CodecSetting{Name: n, Enabled: true} }
	off := func(n string) store.CodecSetting { return store.CodecSetting{Name: n} }
	for _, tc := range []struct {
		name   string
		codecs []store.CodecSetting
		want   media.CodecList
	}{
		{"none", nil, nil},
		{"pcma first, the unlisted after", []store.CodecSetting{on("PCMA"), on("PCMU")}, media.CodecList{"PCMA", "PCMU", "G722", "OPUS", "G729"}},
		{"disabled left out", []store.CodecSetting{on("OPUS"), off("PCMU"), off("G722")}, media.CodecList{"OPUS", "PCMA", "G729"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AnswerCodecs(tc.codecs)
			if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("AnswerCodecs = %q, want %q", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the list is not one media takes: %v", err)
			}
		})
	}
}
