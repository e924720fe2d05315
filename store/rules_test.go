package store

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Every row of the Inbound SIP URI guide's allowlist table.
func TestValidateSourceCIDR(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		errHint string
	}{
		{in: "203.0.113.0/24", want: "203.0.113.0/24"},
		{in: "198.51.100.5/32", want: "198.51.100.5/32"},
		{in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{in: "8.8.8.0/24", want: "8.8.8.0/24"},
		{in: "192.168.1.5/24", errHint: "host bits set; did you mean 192.168.1.0/24"},
		{in: "203.0.113.7/24", errHint: "host bits set"},
		{in: "10.0.0.0/8", errHint: "private range (RFC 1918)"},
		{in: "10.1.2.3/32", errHint: "private range"},
		{in: "172.16.0.0/12", errHint: "private range"},
		{in: "172.20.1.0/24", errHint: "private range"},
		{in: "192.168.0.0/16", errHint: "private range"},
		{in: "127.0.0.1/32", errHint: "loopback"},
		{in: "169.254.10.0/24", errHint: "link-local"},
		{in: "100.64.0.0/10", errHint: "carrier-grade NAT"},
		{in: "224.0.0.1/32", errHint: "multicast"},
		{in: "255.255.255.255/32", errHint: "reserved"},
		{in: "0.0.0.0/8", errHint: "this network"},
		{in: "2001:db8::/32", errHint: "IPv6"},
		{in: "::ffff:203.0.113.0/120", errHint: "IPv6"},
		{in: "198.51.100.5", errHint: "no prefix length; for one address write 198.51.100.5/32"},
		{in: "203.0.113.0/33", errHint: "not an IPv4 CIDR"},
		{in: "example.com/24", errHint: "not an IPv4 CIDR"},
		{in: " 203.0.113.0/24", errHint: "not an IPv4 CIDR"},
		{in: "", errHint: "not an IPv4 CIDR"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ValidateSourceCIDR(tc.in)
			if tc.errHint != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHint) {
					t.Fatalf("ValidateSourceCIDR(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.errHint)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ValidateSourceCIDR(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestValidateSourceIPsLimits(t *testing.T) {
	many := make([]string, 26)
	for i := range many {
		many[i] = "203.0.113." + itoa(i) + "/32"
	}
	if _, err := ValidateSourceIPs(many); err == nil || !strings.Contains(err.Error(), "at most 25") {
		t.Fatalf("26 entries: %v", err)
	}
	if got, err := ValidateSourceIPs(many[:25]); err != nil || len(got) != 25 {
		t.Fatalf("25 entries: %v %d", err, len(got))
	}
	_, err := ValidateSourceIPs([]string{"203.0.113.0/24", "203.0.113.0/24"})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "allowedSourceIps[1]" {
		t.Fatalf("duplicate: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func ptr[T any](v T) *T { return &v }

func TestInboundSIPRules(t *testing.T) {
	const domain = "sip.example.test"
	base := Application{ID: "app-1", Name: "a", AllowedSourceIPs: []string{}, AllowedRegions: []string{}}

	t.Run("enable requires password or IPs", func(t *testing.T) {
		a := base
		_, err := ApplicationPatch{InboundSIPEnabled: ptr(true)}.Apply(&a, domain)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "inboundSipCallsEnabled" {
			t.Fatalf("got %v", err)
		}
		if a.InboundSIPEnabled {
			t.Fatal("application changed on error")
		}
	})
	t.Run("enable with password generates and rotates", func(t *testing.T) {
		a := base
		pw1, err := ApplicationPatch{InboundSIPEnabled: ptr(true), PasswordAuthEnabled: ptr(true)}.Apply(&a, domain)
		if err != nil || len(pw1) < 20 {
			t.Fatalf("pw %q err %v", pw1, err)
		}
		md5hex, shahex := DigestHA1("app-1", domain, pw1)
		if a.SIPHA1MD5 != md5hex || a.SIPHA1SHA256 != shahex {
			t.Fatal("HA1 values do not match the password")
		}
		if a.SIPURI(domain) != "sip:app-1@sip.example.test" {
			t.Fatalf("sipUri %q", a.SIPURI(domain))
		}
		if len(a.AllowedRegions) != len(KnownRegions) {
			t.Fatalf("default regions %v", a.AllowedRegions)
		}
		pw2, err := ApplicationPatch{PasswordAuthEnabled: ptr(true)}.Apply(&a, domain)
		if err != nil || pw2 == pw1 {
			t.Fatalf("rotate: %q %v", pw2, err)
		}
		if m, _ := DigestHA1("app-1", domain, pw1); a.SIPHA1MD5 == m {
			t.Fatal("old password still valid after rotation")
		}
	})
	t.Run("regions patch alone keeps password and IPs", func(t *testing.T) {
		a := base
		if _, err := (ApplicationPatch{InboundSIPEnabled: ptr(true), PasswordAuthEnabled: ptr(true), AllowedSourceIPs: ptr([]string{"203.0.113.0/24"})}).Apply(&a, domain); err != nil {
			t.Fatal(err)
		}
		ha1 := a.SIPHA1MD5
		pw, err := ApplicationPatch{AllowedRegions: ptr([]string{"eu"})}.Apply(&a, domain)
		if err != nil || pw != "" || a.SIPHA1MD5 != ha1 || len(a.AllowedSourceIPs) != 1 || a.AllowedRegions[0] != "EU" {
			t.Fatalf("%v %+v", err, a)
		}
		if _, err := (ApplicationPatch{AllowedRegions: ptr([]string{"MARS"})}).Apply(&a, domain); err == nil {
			t.Fatal("unknown region accepted")
		}
		if _, err := (ApplicationPatch{AllowedRegions: ptr([]string{})}).Apply(&a, domain); err == nil {
			t.Fatal("empty regions accepted")
		}
	})
	t.Run("IP list replaced whole; removing last auth method refused", func(t *testing.T) {
		a := base
		if _, err := (ApplicationPatch{InboundSIPEnabled: ptr(true), AllowedSourceIPs: ptr([]string{"203.0.113.0/24", "198.51.100.5/32"})}).Apply(&a, domain); err != nil {
			t.Fatal(err)
		}
		if a.PasswordAuthEnabled {
			t.Fatal("IP-only application has password auth")
		}
		if _, err := (ApplicationPatch{AllowedSourceIPs: ptr([]string{"8.8.8.0/24"})}).Apply(&a, domain); err != nil || len(a.AllowedSourceIPs) != 1 {
			t.Fatalf("%v %v", err, a.AllowedSourceIPs)
		}
		_, err := ApplicationPatch{AllowedSourceIPs: ptr([]string{})}.Apply(&a, domain)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "allowedSourceIps" {
			t.Fatalf("emptying the only auth method: %v", err)
		}
	})
	t.Run("disable clears everything; re-enable makes a new password", func(t *testing.T) {
		a := base
		pw1, _ := ApplicationPatch{InboundSIPEnabled: ptr(true), PasswordAuthEnabled: ptr(true), AllowedSourceIPs: ptr([]string{"203.0.113.0/24"})}.Apply(&a, domain)
		if _, err := (ApplicationPatch{InboundSIPEnabled: ptr(false)}).Apply(&a, domain); err != nil {
			t.Fatal(err)
		}
		if a.InboundSIPEnabled || a.PasswordAuthEnabled || a.SIPHA1MD5 != "" || len(a.AllowedSourceIPs) != 0 || len(a.AllowedRegions) != 0 || a.SIPURI(domain) != "" {
			t.Fatalf("not cleared: %+v", a)
		}
		if _, err := (ApplicationPatch{PasswordAuthEnabled: ptr(true)}).Apply(&a, domain); err == nil {
			t.Fatal("password auth on a disabled application accepted")
		}
		pw2, err := ApplicationPatch{InboundSIPEnabled: ptr(true), PasswordAuthEnabled: ptr(true)}.Apply(&a, domain)
		if err != nil || pw2 == "" || pw2 == pw1 {
			t.Fatalf("re-enable: %q %v", pw2, err)
		}
	})
	t.Run("callback fields", func(t *testing.T) {
		a := base
		if _, err := (ApplicationPatch{CallInitiatedCallbackURL: ptr("ftp://x")}).Apply(&a, domain); err == nil {
			t.Fatal("ftp URL accepted")
		}
		if _, err := (ApplicationPatch{CallInitiatedMethod: ptr("PUT")}).Apply(&a, domain); err == nil {
			t.Fatal("PUT accepted")
		}
		if _, err := (ApplicationPatch{CallInitiatedMethod: ptr("get"), CallStatusCallbackURL: ptr("https://h/s")}).Apply(&a, domain); err != nil || a.CallInitiatedMethod != "GET" {
			t.Fatalf("%v %q", err, a.CallInitiatedMethod)
		}
	})
}
