package sdk

import (
	"reflect"
	"testing"
)

// FuzzDecodeEventLazy holds Dispatch's lazy decoding to UnmarshalJSON: the
// same inputs fail, and what decodes reads the same through String, Value
// and AllFields.
func FuzzDecodeEventLazy(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"v":1,"event":"sip.inbound","method":"INVITE","headers":{"A":["b"]},"variables":{"k":"v"},"x":"y"}`))
	f.Add([]byte(`{"v":1,"event":"gather","digits":"1\u0032","from":"a","from":"b","n":2.5,"o":{"p":[1,"q"]},"t":true}`))
	f.Add([]byte(`{"event":"initiate","callId":"c\"1","callId":"c2"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want Event
		wantErr := want.UnmarshalJSON(b)
		got, err := decodeEvent(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: lazy err %v, full err %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		fields := got.AllFields()
		if len(fields) == 0 {
			fields = nil
		}
		if !reflect.DeepEqual(fields, want.Fields) {
			t.Fatalf("%q: fields\n got %#v\nwant %#v", b, fields, want.Fields)
		}
		for k := range want.Fields {
			if got.String(k) != want.String(k) || !reflect.DeepEqual(got.Value(k), want.Value(k)) {
				t.Fatalf("%q: member %s: got %q/%#v, want %q/%#v", b, k, got.String(k), got.Value(k), want.String(k), want.Value(k))
			}
		}
		got.lazy, want.Fields = nil, nil
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("%q: envelope\n got %#v\nwant %#v", b, got, want)
		}
	})
}

func BenchmarkDispatchEvent(b *testing.B) {
	ev := []byte(`{"v":1,"event":"initiate","eventType":"initiate","eventTime":"2026-11-23T09:00:00.000Z",` +
		`"accountId":"9900000","applicationId":"04e88489-df02-4e34-a0ee-27a91849555f","from":"+15551230001",` +
		`"to":"+15551230002","direction":"inbound","callId":"c-2d8e6b6c-1b1f-4b4f-9d1a-4f5c2c8b0f3e",` +
		`"callUrl":"https://voice.example.com/api/v2/accounts/9900000/calls/c-2d8e6b6c","startTime":"2026-11-23T09:00:00.000Z",` +
		`"variables":{"customer":"cust-9"}}`)
	Reset()
	b.Cleanup(Reset)
	On(EventInitiate, func(ev Event) Decision {
		return BXML("<Response><SpeakSentence>" + ev.From() + "</SpeakSentence></Response>")
	})
	b.ReportAllocs()
	for range b.N {
		if _, code := Dispatch(ev); code != HandleOK {
			b.Fatal(code)
		}
	}
}
