package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// strictDecode is the definition DecodeDecision must agree with: what the
// host decoded before, with encoding/json.
func strictDecode(b []byte) (Decision, error) {
	var d Decision
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Decision{}, err
	}
	if dec.More() {
		return Decision{}, errJSON
	}
	return d, nil
}

func FuzzDecodeDecision(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"bxml":"<Response/>"}`,
		`{"v":1,"bxml":"\u003cResponse\u003e\u003c/Response\u003e","variables":{"a":"b"}}`,
		`{"v":1,"action":"reject","status":403,"reason":"x"}`,
		`{"v":1,"action":"continue","setHeaders":{"X-A":"b"},"removeHeaders":["User-Agent"],"variables":{}}`,
		`{"v":1,"action":"route","applicationId":"app"}`,
		`{"v":1,"error":"x"}`,
		`{"v":1,"unhandled":true}`,
		`{"v":1,"unhandled":false}`,
		`{"v":1,"unhandled":null}`,
		`{"v":1,"unhandled":"yes"}`,
		`{"v":1,"BXML":"case"}`,
		`{"v":1.0}`,
		`{"v":1e0}`,
		`{"v":-0}`,
		`{"v":null,"bxml":null}`,
		`{"v":1,"v":2}`,
		`{"v":1,"variables":{"a":1}}`,
		`{"v":1,"action":"nope"}`,
		`{"v":1} x`,
		`{"v":1,"extra":1}`,
		`{"v":99999999999999999999}`,
		`{}`,
		` {"v":1} `,
		`[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := DecodeDecision(b)
		if !ok {
			return
		}
		want, err := strictDecode(b)
		if err != nil {
			t.Fatalf("%q: fast path accepted what encoding/json refuses (%v): %+v", b, err, got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
		}
	})
}

func TestDecodeDecisionCommonShapes(t *testing.T) {
	for _, d := range []Decision{
		BXML("<Response><SpeakSentence>a & b</SpeakSentence></Response>").SetVariable("k", "v"),
		Continue().SetHeader("X-A", "1").RemoveHeader("User-Agent").SetVariable("x", "y"),
		Reject(486, "Busy Here"),
		Route("app-2"),
		{V: 1, Error: "boom"},
		{V: 1, Unhandled: true},
	} {
		wire, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := DecodeDecision(wire)
		if !ok || !reflect.DeepEqual(got, d) {
			t.Errorf("%s: ok=%v got %+v", wire, ok, got)
		}
	}
}

func BenchmarkDecodeDecision(b *testing.B) {
	wire := []byte(`{"v":1,"bxml":"\u003cResponse\u003e\u003cGather gatherUrl=\"gather\" maxDigits=\"1\"\u003e\u003cSpeakSentence\u003ePress 1.\u003c/SpeakSentence\u003e\u003c/Gather\u003e\u003c/Response\u003e","variables":{"choice":"sales"}}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, ok := DecodeDecision(wire); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := strictDecode(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}
