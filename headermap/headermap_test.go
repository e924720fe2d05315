package headermap

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		dir   Direction
		rule  Rule
		field string // "" when valid
		hint  string
	}{
		{"custom", Inbound, Rule{Type: TypeCustom, Key: "X-Cool-Guy", Value: "First_Name"}, "", ""},
		{"passthrough in", Inbound, Rule{Passthrough: true, Key: "source", Value: "sip trunk A"}, "", ""},
		{"passthrough out", Outbound, Rule{Passthrough: true, Key: "X-Tenant", Value: "acme"}, "", ""},
		{"uui", Inbound, Rule{Type: TypeUUI, Target: "id", Purpose: "bland", Encoding: EncodingHex, Content: "id"}, "", ""},
		{"uui ascii", Outbound, Rule{Type: TypeUUI, Target: "id", Encoding: EncodingASCII}, "", ""},
		{"no type", Inbound, Rule{Key: "X-A", Value: "a"}, "type", "required"},
		{"bad type", Inbound, Rule{Type: "regex", Key: "X-A", Value: "a"}, "type", `"regex"`},
		{"custom no key", Inbound, Rule{Type: TypeCustom, Value: "a"}, "key", "required"},
		{"custom bad key", Inbound, Rule{Type: TypeCustom, Key: "X A", Value: "a"}, "key", "not a valid SIP header name"},
		{"custom reserved", Outbound, Rule{Type: TypeCustom, Key: "call-id", Value: "a"}, "key", "managed by the SIP stack"},
		{"custom no var", Inbound, Rule{Type: TypeCustom, Key: "X-A"}, "value", "required"},
		{"custom bad var", Inbound, Rule{Type: TypeCustom, Key: "X-A", Value: "a b"}, "value", "letters, digits"},
		{"passthrough CRLF", Outbound, Rule{Passthrough: true, Key: "X-A", Value: "a\r\nVia: evil"}, "value", "CR, LF"},
		{"passthrough uui type", Outbound, Rule{Passthrough: true, Type: TypeUUI, Key: "X-A"}, "type", "plain key/value"},
		{"passthrough reserved", Outbound, Rule{Passthrough: true, Key: "Contact", Value: "x"}, "key", "managed"},
		{"uui no target", Inbound, Rule{Type: TypeUUI}, "target", "required"},
		{"uui bad encoding", Inbound, Rule{Type: TypeUUI, Target: "x", Encoding: "base64"}, "encoding", "hex or ascii"},
		{"uui bad purpose", Inbound, Rule{Type: TypeUUI, Target: "x", Purpose: "a;b"}, "purpose", "token"},
		{"uui bad content", Inbound, Rule{Type: TypeUUI, Target: "x", Content: "a b"}, "content", "token"},
		{"uui long purpose", Inbound, Rule{Type: TypeUUI, Target: "x", Purpose: strings.Repeat("p", 65)}, "purpose", "64"},
		{"uui other key", Inbound, Rule{Type: TypeUUI, Target: "x", Key: "X-UUI"}, "key", "User-to-User"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]Rule{{Passthrough: true, Key: "ok", Value: "v"}, tc.rule}, tc.dir)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Index != 1 || re.Field != tc.field || !strings.Contains(re.Reason, tc.hint) {
				t.Fatalf("got %v, want [1].%s containing %q", err, tc.field, tc.hint)
			}
			if p := re.Path("headers"); p != "headers[1]."+tc.field {
				t.Fatalf("path %q", p)
			}
		})
	}
	if err := Validate(make([]Rule, MaxRules+1), Inbound); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("too many rules: %v", err)
	}
}

func TestInbound(t *testing.T) {
	headers := map[string][]string{
		"x-cool-guy":   {" Alice "},
		"User-To-User": {"6f74686572;encoding=hex;purpose=other", "3432;encoding=hex;purpose=bland;content=id"},
		"X-Ascii-Uui":  {"ignored"},
		"X-Empty":      {},
	}
	tests := []struct {
		name  string
		rules []Rule
		want  map[string]string
	}{
		{"custom copies header case-insensitively", []Rule{{Type: TypeCustom, Key: "X-Cool-Guy", Value: "First_Name"}}, map[string]string{"First_Name": "Alice"}},
		{"missing header sets nothing", []Rule{{Type: TypeCustom, Key: "X-Missing", Value: "v"}, {Type: TypeCustom, Key: "X-Empty", Value: "e"}}, map[string]string{}},
		{"passthrough injects as is", []Rule{{Passthrough: true, Key: "source", Value: "trunk A"}}, map[string]string{"source": "trunk A"}},
		{"uui by purpose", []Rule{{Type: TypeUUI, Target: "crm", Purpose: "bland", Encoding: EncodingHex, Content: "id"}}, map[string]string{"crm": "42"}},
		{"uui first match without filters", []Rule{{Type: TypeUUI, Target: "any"}}, map[string]string{"any": "other"}},
		{"uui no match", []Rule{{Type: TypeUUI, Target: "x", Purpose: "nobody"}}, map[string]string{}},
		{"later rule wins", []Rule{{Passthrough: true, Key: "v", Value: "1"}, {Type: TypeCustom, Key: "X-Cool-Guy", Value: "v"}}, map[string]string{"v": "Alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ApplyInbound(tc.rules, headers, nil)
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// The example, verbatim.
	got := ApplyInbound([]Rule{{Type: TypeUUI, Target: "id", Purpose: "bland", Encoding: EncodingHex, Content: "id"}},
		map[string][]string{"User-to-User": {"3432;encoding=hex;purpose=bland;content=id"}}, map[string]string{"keep": "me"})
	if got["id"] != "42" || got["keep"] != "me" {
		t.Fatalf("issue example: %v", got)
	}
	// Comma-joined values and an ascii payload without an encoding parameter.
	got = ApplyInbound([]Rule{{Type: TypeUUI, Target: "t", Encoding: EncodingASCII, Purpose: "p"}},
		map[string][]string{"user-to-user": {`zz;purpose=q, "hi, there";purpose=p`}}, nil)
	if got["t"] != "hi, there" {
		t.Fatalf("ascii comma: %v", got)
	}
}

func TestOutbound(t *testing.T) {
	vars := map[string]string{"First_Name": "Alice", "id": "42", "evil": "x\r\nVia: SIP/2.0/UDP evil", "quote": `say "hi"`}
	tests := []struct {
		name  string
		rules []Rule
		want  map[string][]string
	}{
		{"custom writes variable", []Rule{{Type: TypeCustom, Key: "X-Cool-Guy", Value: "First_Name"}}, map[string][]string{"X-Cool-Guy": {"Alice"}}},
		{"unset variable adds nothing", []Rule{{Type: TypeCustom, Key: "X-A", Value: "nope"}}, map[string][]string{}},
		{"passthrough as given", []Rule{{Passthrough: true, Key: "X-Tenant", Value: "acme"}}, map[string][]string{"X-Tenant": {"acme"}}},
		{"uui hex", []Rule{{Type: TypeUUI, Target: "id", Purpose: "bland", Content: "id"}}, map[string][]string{"User-to-User": {"3432;encoding=hex;purpose=bland;content=id"}}},
		{"uui ascii quoted", []Rule{{Type: TypeUUI, Target: "quote", Encoding: EncodingASCII}}, map[string][]string{"User-to-User": {`"say \"hi\"";encoding=ascii`}}},
		{"header injection dropped", []Rule{{Type: TypeCustom, Key: "X-A", Value: "evil"}}, map[string][]string{}},
		{"reserved header skipped", []Rule{{Passthrough: true, Key: "Via", Value: "x"}}, map[string][]string{}},
		{"same header merges case-insensitively", []Rule{{Passthrough: true, Key: "X-A", Value: "1"}, {Passthrough: true, Key: "x-a", Value: "2"}}, map[string][]string{"X-A": {"1", "2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ApplyOutbound(tc.rules, vars)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A variable encoded outbound decodes back to itself inbound, in both encodings.
func TestUUIRoundTrip(t *testing.T) {
	values := []string{"42", "", "hello world", `q"uo\te`, "ünïcode", "a;b,c=d", "\x00\x01\xff binary"}
	for _, enc := range []Encoding{EncodingHex, EncodingASCII} {
		for _, v := range values {
			out := ApplyOutbound([]Rule{{Type: TypeUUI, Target: "v", Encoding: enc, Purpose: "bland", Content: "id"}}, map[string]string{"v": v})
			hv := out[UUIHeader]
			if v == "" {
				// An empty payload is not a valid User-to-User value: nothing is sent.
				if len(hv) != 0 {
					t.Fatalf("%s: empty variable sent %q", enc, hv)
				}
				continue
			}
			if len(hv) != 1 {
				t.Fatalf("%s %q: headers %q", enc, v, out)
			}
			got := ApplyInbound([]Rule{{Type: TypeUUI, Target: "back", Encoding: enc, Purpose: "bland", Content: "id"}}, out, nil)
			if got["back"] != v {
				t.Fatalf("%s %q: header %q decoded to %q", enc, v, hv[0], got["back"])
			}
		}
	}
}

func TestParseUUI(t *testing.T) {
	u, err := ParseUUI(` 3432 ; Encoding=HEX ; purpose="bland" ;content=id;extra`, EncodingASCII)
	if err != nil || string(u.Data) != "42" || u.Encoding != EncodingHex || u.Purpose != "bland" || u.Content != "id" {
		t.Fatalf("got %+v %v", u, err)
	}
	for _, bad := range []string{"", ";encoding=hex", "zz;encoding=hex", "343;encoding=hex", `"unterminated`, `"a"b";encoding=ascii`, `"x";encoding=hex`, `a b;encoding=ascii`} {
		if _, err := ParseUUI(bad, EncodingHex); !errors.Is(err, ErrUUI) {
			t.Errorf("ParseUUI(%q) = %v, want ErrUUI", bad, err)
		}
	}
}

func FuzzParseUUI(f *testing.F) {
	for _, s := range []string{
		"3432;encoding=hex;purpose=bland;content=id", `"hi";encoding=ascii`, "abc", `"a\"b"`, ";;", `"`, "00;purpose=\"x;y\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUI(s, EncodingHex)
		if err != nil {
			if !errors.Is(err, ErrUUI) {
				t.Fatalf("error does not wrap ErrUUI: %v", err)
			}
			return
		}
		if !isToken(u.Purpose) || !isToken(u.Content) {
			return // parameters that the encoder would not emit
		}
		for _, enc := range []Encoding{EncodingHex, EncodingASCII} {
			w := UUI{Data: u.Data, Encoding: enc, Purpose: u.Purpose, Content: u.Content}
			if len(w.Data) == 0 {
				continue
			}
			back, err := ParseUUI(w.String(), EncodingHex)
			if err != nil || !bytes.Equal(back.Data, u.Data) || back.Purpose != u.Purpose || back.Content != u.Content {
				t.Fatalf("re-encoding %q as %s gave %q: %+v %v", s, enc, w.String(), back, err)
			}
		}
	})
}

func BenchmarkInbound(b *testing.B) {
	rules := []Rule{
		{Type: TypeCustom, Key: "X-Customer-Id", Value: "customer_id"},
		{Passthrough: true, Key: "source", Value: "trunk"},
		{Type: TypeUUI, Target: "crm", Purpose: "bland", Content: "id"},
	}
	headers := map[string][]string{
		"Via": {"SIP/2.0/UDP 203.0.113.1"}, "From": {"<sip:a@b>"}, "To": {"<sip:c@d>"},
		"x-customer-id": {"c-123"}, "User-to-User": {"3432;encoding=hex;purpose=bland;content=id"},
	}
	vars := make(map[string]string, 4)
	b.ReportAllocs()
	for b.Loop() {
		clear(vars)
		ApplyInbound(rules, headers, vars)
	}
}

func BenchmarkOutbound(b *testing.B) {
	rules := []Rule{
		{Type: TypeCustom, Key: "X-Customer-Id", Value: "customer_id"},
		{Passthrough: true, Key: "X-Tenant", Value: "acme"},
		{Type: TypeUUI, Target: "crm", Purpose: "bland", Content: "id"},
	}
	vars := map[string]string{"customer_id": "c-123", "crm": "42"}
	b.ReportAllocs()
	for b.Loop() {
		ApplyOutbound(rules, vars)
	}
}
