package bxml

import (
	"strings"
	"testing"
)

// TestParseLargeDocument parses a document at the size limit made of
// thousands of verbs on one line and on many lines: positions stay right
// and the cost stays linear.
func TestParseLargeDocument(t *testing.T) {
	for _, sep := range []string{"", "\n"} {
		var b strings.Builder
		b.WriteString("<Response>")
		n := 0
		for b.Len() < MaxDocumentSize-100 {
			b.WriteString(sep + "<Pause duration=\"0\"/>")
			n++
		}
		b.WriteString(sep + "<Connect><Endpoint>x</Endpoint></Connect></Response>")
		doc, err := Parse([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Verbs) != n+1 {
			t.Fatalf("%d verbs, want %d", len(doc.Verbs), n+1)
		}
		err = CheckSupported(doc)
		be, _ := err.(*Error)
		wantLine, wantCol := 1, 11+n*len(`<Pause duration="0"/>`)
		if sep != "" {
			wantLine, wantCol = n+2, 1
		}
		if be == nil || be.Line != wantLine || be.Column != wantCol {
			t.Errorf("sep %q: error %+v, want line %d col %d", sep, be, wantLine, wantCol)
		}
	}
}
