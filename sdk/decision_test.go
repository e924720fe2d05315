package sdk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecisionValidate(t *testing.T) {
	tests := []struct {
		name string
		t    EventType
		d    Decision
		err  string // "" for valid
	}{
		{"bxml", EventInitiate, BXML("<Response/>"), ""},
		{"empty bxml", EventDisconnect, Decision{V: 1}, ""},
		{"unhandled", EventDisconnect, Decision{V: 1, Unhandled: true}, ""},
		{"unhandled with bxml", EventInitiate, Decision{V: 1, Unhandled: true, BXML: "<Response/>"}, "carries nothing else"},
		{"unhandled sip", EventSIPInbound, Decision{V: 1, Unhandled: true}, "carries nothing else"},
		{"bxml with variables", EventAnswer, BXML("<Response/>").SetVariable("k", "v"), ""},
		{"error on call event", EventInitiate, Fail(errors.New("x")), ""},
		{"error on sip event", EventSIPInbound, Fail(nil), ""},
		{"wrong version", EventInitiate, Decision{V: 2, BXML: "<Response/>"}, "v is 2"},
		{"no version", EventInitiate, Decision{BXML: "<Response/>"}, "v is 0"},
		{"action on call event", EventInitiate, Continue(), "answers bxml"},
		{"header on call event", EventInitiate, BXML("<Response/>").SetHeader("X-A", "b"), "answers bxml"},
		{"continue", EventSIPInbound, Continue().SetHeader("X-A", "b").RemoveHeader("User-Agent").SetVariable("k", "v"), ""},
		{"continue outbound", EventSIPOutbound, Continue().SetHeader("User-to-User", "3432;encoding=hex"), ""},
		{"reject", EventSIPInbound, Reject(403, "Forbidden"), ""},
		{"reject 699", EventSIPInbound, Reject(699, ""), ""},
		{"reject 200", EventSIPInbound, Reject(200, "OK"), "outside 400-699"},
		{"route", EventSIPInbound, Route("app-2"), ""},
		{"route outbound", EventSIPOutbound, Route("app-2"), "only valid for sip.inbound"},
		{"route without app", EventSIPInbound, Route(""), "without applicationId"},
		{"no action", EventSIPInbound, Decision{V: 1}, "needs an action"},
		{"bxml on sip", EventSIPInbound, Decision{V: 1, Action: ActionContinue, BXML: "<Response/>"}, "not bxml"},
		{"status with continue", EventSIPInbound, Decision{V: 1, Action: ActionContinue, Status: 403}, "only go with reject"},
		{"reason injection", EventSIPInbound, Reject(403, "x\r\nVia: evil"), "line break"},
		{"header value injection", EventSIPInbound, Continue().SetHeader("X-A", "b\r\nVia: evil"), "line break"},
		{"header name not a token", EventSIPInbound, Continue().SetHeader("X A:", "b"), "not a SIP token"},
		{"empty header name", EventSIPInbound, Continue().SetHeader("", "b"), "not a SIP token"},
		{"remove bad name", EventSIPInbound, Continue().RemoveHeader("Bad\nName"), "not a SIP token"},
		{"empty variable name", EventSIPInbound, Continue().SetVariable("", "v"), "empty variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate(tt.t)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tt.err != "" && (err == nil || !errors.Is(err, ErrInvalidDecision) || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestDecisionJSON(t *testing.T) {
	for _, d := range []Decision{
		{V: 1},
		BXML(`<Response><SpeakSentence>Tom & "Jerry" <3</SpeakSentence></Response>`),
		Reject(486, "Busy Here"),
		Route("app-2").SetVariable("b", "2").SetVariable("a", "1"),
		Continue().SetHeader("X-B", "2").SetHeader("X-A", "é\n").RemoveHeader("User-Agent").RemoveHeader("X-Old"),
		Fail(errors.New("boom")),
	} {
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		// The same members encoding/json writes for the struct tags.
		type plain Decision
		p := struct {
			plain
			Action string `json:"action,omitempty"`
		}{plain(d), actionNames[d.Action]}
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var gm, wm map[string]any
		if json.Unmarshal(got, &gm) != nil || json.Unmarshal(want, &wm) != nil || !reflect.DeepEqual(gm, wm) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		var back Decision
		if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, d) {
			t.Errorf("decode %s: %+v %v", got, back, err)
		}
	}
	if _, err := json.Marshal(Decision{V: 1, Action: Action(9)}); err == nil {
		t.Error("an unknown action encoded")
	}
	var d Decision
	if err := json.Unmarshal([]byte(`{"v":1,"action":"explode"}`), &d); err == nil {
		t.Error("an unknown action decoded")
	}
}

func TestDecisionBuildersDoNotAlias(t *testing.T) {
	base := Continue().SetHeader("X-A", "1")
	a := base.SetHeader("X-B", "2")
	b := base.RemoveHeader("X-C")
	if len(base.SetHeaders) != 1 || len(a.SetHeaders) != 2 || len(b.RemoveHeaders) != 1 || len(base.RemoveHeaders) != 0 {
		t.Fatalf("builders share state: %+v %+v %+v", base, a, b)
	}
}

func FuzzDecisionValidate(f *testing.F) {
	f.Add([]byte(`{"v":1,"action":"reject","status":403,"reason":"no"}`), "sip.inbound")
	f.Add([]byte(`{"v":1,"bxml":"<Response/>"}`), "initiate")
	f.Add([]byte(`{"v":1,"action":"continue","setHeaders":{"X-A":"b"},"removeHeaders":["C"]}`), "sip.outbound")
	f.Fuzz(func(t *testing.T, b []byte, typ string) {
		var d Decision
		if json.Unmarshal(b, &d) != nil {
			return
		}
		if d.Validate(EventType(typ)) != nil {
			return
		}
		// A valid decision never carries a line break into a SIP message.
		for k, v := range d.SetHeaders {
			if strings.ContainsAny(k+v+d.Reason, "\r\n") {
				t.Fatalf("valid decision with a line break: %+v", d)
			}
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("valid decision does not encode: %v", err)
		}
	})
}
