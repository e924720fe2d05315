package sipdest

import "testing"

func TestAddressHelpers(t *testing.T) {
	for _, tc := range []struct {
		in        string
		e164, uri bool
		user      string
	}{
		{"+14155550100", true, false, "+14155550100"},
		{"+0155", false, false, "+0155"},
		{"14155550100", false, false, "14155550100"},
		{"+1234567890123456", false, false, "+1234567890123456"},
		{"sip:+14155550100@sbc.test:5061", false, true, "+14155550100"},
		{"sips:alice@example.com", false, true, "alice"},
		{"sip:example.com", false, true, "example.com"},
	} {
		if got := IsE164(tc.in); got != tc.e164 {
			t.Errorf("IsE164(%q) = %v", tc.in, got)
		}
		if got := IsSIPURI(tc.in); got != tc.uri {
			t.Errorf("IsSIPURI(%q) = %v", tc.in, got)
		}
		if got := UserPart(tc.in); got != tc.user {
			t.Errorf("UserPart(%q) = %q, want %q", tc.in, got, tc.user)
		}
	}
}
