package bxml

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// PlainText returns the words to speak with the SSML markup removed, for a
// text-to-speech engine that takes plain text. Elements that separate words
// (break, p, s) become spaces.
func (s *SpeakSentence) PlainText() string {
	dec := xml.NewDecoder(strings.NewReader("<speak>" + s.SSML + "</speak>"))
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			switch t.Name.Local {
			case "break", "p", "s":
				b.WriteByte(' ')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "p", "s":
				b.WriteByte(' ')
			}
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// HasMarkup reports whether the sentence contains SSML elements.
func (s *SpeakSentence) HasMarkup() bool {
	return bytes.IndexByte([]byte(s.SSML), '<') >= 0
}
