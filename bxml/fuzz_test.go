package bxml

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

// FuzzParse checks that no input panics the parser, that every failure is
// an *Error, and that whatever parses survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/all_verbs.xml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		typicalDoc,
		`<Response><Gather maxDigits="60"/></Response>`,
		`<Bxml><SpeakSentence>a<break/>b</SpeakSentence></Bxml>`,
		`<Response><Transfer><PhoneNumber>+15551234567</PhoneNumber></Transfer></Response>`,
		`<Response><SendDtmf>1w2</SendDtmf><Tag></Tag></Response>`,
		`<Response><SpeakSentence><![CDATA[x < y]]></SpeakSentence></Response>`,
		`<!DOCTYPE a><Response/>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			_ = err.Error()
			return
		}
		_ = CheckSupported(doc)
		out, err := doc.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed document failed: %v\ninput: %q\noutput: %s", err, data, doc.String())
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse failed: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back.Verbs, doc.Verbs) {
			t.Fatalf("round trip differs\ninput: %q\noutput: %s", data, out)
		}
	})
}
