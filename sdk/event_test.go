package sdk

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestEventCallRoundTrip(t *testing.T) {
	ev := Event{
		Type: EventGather,
		Fields: map[string]any{
			"eventType": "gather", "callId": "c-1", "from": "+15551230001", "to": "+15551230002",
			"digits": "123", "tag": "t", "cause": "hangup", "retries": float64(2), "recorded": true,
		},
		Variables: map[string]string{"lang": "en"},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"v":1`) || !strings.Contains(string(b), `"event":"gather"`) {
		t.Fatalf("wire form %s", b)
	}
	var got Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	ev.V = 1
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, ev)
	}
	for name, tt := range map[string]struct{ got, want string }{
		"CallID": {got.CallID(), "c-1"}, "From": {got.From(), "+15551230001"}, "To": {got.To(), "+15551230002"},
		"Digits": {got.Digits(), "123"}, "Tag": {got.Tag(), "t"}, "Cause": {got.Cause(), "hangup"},
		"EventType": {got.EventType(), "gather"}, "number": {got.String("retries"), "2"},
		"bool": {got.String("recorded"), "true"}, "missing": {got.String("nope"), ""},
		"Variable": {got.Variable("lang"), "en"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", name, tt.got, tt.want)
		}
	}
}

func TestEventSIP(t *testing.T) {
	wire := `{"v":1,"event":"sip.inbound","method":"INVITE","requestUri":"sip:app@example.com",` +
		`"from":"<sip:alice@example.com>;tag=1","to":"<sip:app@example.com>","source":"192.0.2.1:5060",` +
		`"headers":{"User-Agent":["phone"],"Via":["a","b"]},"xHeaders":{"X-Account":["42"]},"extra":"kept"}`
	var ev Event
	if err := json.Unmarshal([]byte(wire), &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.SIP
	if r == nil || r.Method != "INVITE" || r.RequestURI != "sip:app@example.com" || r.Source != "192.0.2.1:5060" {
		t.Fatalf("sip %+v", r)
	}
	if ev.From() != "<sip:alice@example.com>;tag=1" || ev.To() != "<sip:app@example.com>" {
		t.Errorf("from/to %q %q", ev.From(), ev.To())
	}
	if r.Header("user-agent") != "phone" || r.XHeader("X-Account") != "42" || len(r.Headers["Via"]) != 2 || r.Header("Nope") != "" {
		t.Errorf("headers %+v", r)
	}
	if len(ev.Fields) != 1 || ev.Fields["extra"] != "kept" {
		t.Errorf("fields %v: request members must not repeat there", ev.Fields)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var again Event
	if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again, ev) {
		t.Fatalf("round trip %v:\n got %#v\nwant %#v", err, again, ev)
	}
}

func TestEventDecodeErrors(t *testing.T) {
	for _, wire := range []string{
		`not json`,
		`{"v":1.5,"event":"initiate"}`,
		`{"v":"1","event":"initiate"}`,
		`{"v":1,"event":7}`,
		`{"v":1,"event":"initiate","variables":{"a":1}}`,
		`{"v":1,"event":"initiate","variables":[]}`,
		`{"v":1,"event":"sip.inbound","method":5}`,
		`{"v":1,"event":"sip.inbound","headers":{"A":"not a list"}}`,
		`{"v":1,"event":"sip.inbound","headers":{"A":[1]}}`,
		`{"v":1,"event":"sip.inbound","xHeaders":[]}`,
	} {
		var ev Event
		if err := ev.UnmarshalJSON([]byte(wire)); err == nil {
			t.Errorf("%s: accepted as %+v", wire, ev)
		}
	}
}

func FuzzEventUnmarshal(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"v":1,"event":"sip.inbound","method":"INVITE","headers":{"A":["b"]},"variables":{"k":"v"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if err := ev.UnmarshalJSON(b); err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same event.
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("encode %#v: %v", ev, err)
		}
		var again Event
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if ev.V == 0 {
			ev.V = ABIVersion
		}
		if !reflect.DeepEqual(normalize(again), normalize(ev)) {
			t.Fatalf("round trip of %q:\n got %#v\nwant %#v", b, again, ev)
		}
	})
}

// normalize drops the differences encoding cannot preserve: empty maps
// versus nil, and empty header lists.
func normalize(ev Event) Event {
	if len(ev.Variables) == 0 {
		ev.Variables = nil
	}
	if len(ev.Fields) == 0 {
		ev.Fields = nil
	}
	if ev.SIP != nil {
		s := *ev.SIP
		if len(s.Headers) == 0 {
			s.Headers = nil
		}
		if len(s.XHeaders) == 0 {
			s.XHeaders = nil
		}
		ev.SIP = &s
	}
	return ev
}
