package calls

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wasmvoice/wasmvoice/sip"
)

func TestReferNumber(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"tel:+15551234567", "+15551234567"},
		{"tel:+15551234567;phone-context=x", "+15551234567"},
		{"sip:+15551234567@voice.example.com", "+15551234567"},
		{"sip:+15551234567@VOICE.example.com:5060", "+15551234567"},
		{"sip:+15551234567@elsewhere.example.com", ""}, // another host: a SIP URI, not our number
		{"sip:alice@voice.example.com", ""},
		{"tel:5551234", ""},
	} {
		if got := referNumber(tc.target, "voice.example.com"); got != tc.want {
			t.Errorf("referNumber(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

func TestReferFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&sip.DialError{Status: 486, Reason: "Busy Here"}, 486},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), 408},
		{context.Canceled, 487},
		{fmt.Errorf("%w for x", ErrNoRoute), 404},
		{fmt.Errorf("%w: +15550009999 is not verified", ErrCallerIDRefused), 403},
		{errors.New("network down"), 503},
	} {
		if got, _ := referFailure(tc.err); got != tc.want {
			t.Errorf("referFailure(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
