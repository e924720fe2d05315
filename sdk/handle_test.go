package sdk

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func dispatch(t *testing.T, wire string) (Decision, int32) {
	t.Helper()
	out, code := Dispatch([]byte(wire))
	var d Decision
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("decision %s: %v", out, err)
	}
	return d, code
}

func TestDispatch(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	On(EventInitiate, func(ev Event) Decision {
		return BXML("<Response><SpeakSentence>hi " + ev.From() + "</SpeakSentence></Response>")
	})
	On("boom", func(Event) Decision { panic("kaput") })

	d, code := dispatch(t, `{"v":1,"event":"initiate","from":"+1555"}`)
	if code != HandleOK || d.BXML != "<Response><SpeakSentence>hi +1555</SpeakSentence></Response>" {
		t.Fatalf("initiate: %d %+v", code, d)
	}
	// No handler: SIP hooks continue, call events answer nothing.
	if d, code := dispatch(t, `{"v":1,"event":"sip.outbound","method":"INVITE"}`); code != HandleOK || d.Action != ActionContinue {
		t.Fatalf("sip default: %d %+v", code, d)
	}
	if d, code := dispatch(t, `{"v":1,"event":"answer"}`); code != HandleOK || d.BXML != "" || d.V != 1 || d.Unhandled {
		t.Fatalf("call default: %d %+v", code, d)
	}
	if d, code := dispatch(t, `{"v":1,"event":"answer","unhandledOk":true}`); code != HandleOK || d.BXML != "" || !d.Unhandled {
		t.Fatalf("call default, the host accepting unhandled: %d %+v", code, d)
	}
	// A fallback handler takes what has no handler of its own.
	Handle(func(ev Event) Decision { return BXML("<Response/>").SetVariable("seen", string(ev.Type)) })
	if d, _ := dispatch(t, `{"v":1,"event":"answer","unhandledOk":true}`); d.Variables["seen"] != "answer" || d.Unhandled {
		t.Fatalf("fallback: %+v", d)
	}
	if d, code := dispatch(t, `{"v":1,"event":"boom"}`); code != HandlePanicked || !strings.Contains(d.Error, "panic: kaput") {
		t.Fatalf("panic: %d %+v", code, d)
	}
	if d, code := dispatch(t, `{"v":2,"event":"answer"}`); code != HandleOK || !strings.Contains(d.Error, "version 2") {
		t.Fatalf("version: %d %+v", code, d)
	}
	if d, code := dispatch(t, `garbage`); code != HandleOK || !strings.Contains(d.Error, "invalid JSON") {
		t.Fatalf("garbage: %d %+v", code, d)
	}
	// A handler that forgets V still answers version 1.
	On(EventAnswer, func(Event) Decision { return Decision{BXML: "<Response/>"} })
	if d, _ := dispatch(t, `{"v":1,"event":"answer"}`); d.V != 1 {
		t.Fatalf("version filled: %+v", d)
	}
	On(EventAnswer, func(Event) Decision { return Decision{V: 1, Action: Action(42)} })
	if d, _ := dispatch(t, `{"v":1,"event":"answer"}`); !strings.Contains(d.Error, "encode decision") {
		t.Fatalf("unencodable: %+v", d)
	}
}

func TestCodeErrors(t *testing.T) {
	for code, want := range map[int32]error{
		CodeTooLarge: ErrKVTooLarge, CodeInvalid: ErrKVInvalid, CodeStoreError: ErrKVStore,
		CodeBudget: ErrKVBudget, CodeNoEvent: ErrKVNoEvent, CodeBadPointer: ErrKVBadMemory,
	} {
		if err := codeErr(code); !errors.Is(err, want) {
			t.Errorf("code %d: %v", code, err)
		}
	}
	if err := codeErr(-99); err == nil || !strings.Contains(err.Error(), "-99") {
		t.Errorf("unknown code: %v", err)
	}
}
