package media

import (
	"regexp"
	"strings"
)

// espeakSSML lists the SSML elements espeak-ng interprets with -m. Every
// other tag (Bandwidth's <lang>, <amazon:effect>, <phoneme>, <audio>, ...)
// is removed and its text content kept. <audio> is removed because we never
// want the synthesizer to reach for a URI.
var espeakSSML = map[string]bool{
	"speak": true, "voice": true, "prosody": true, "say-as": true, "mark": true,
	"s": true, "p": true, "sub": true, "emphasis": true, "break": true,
}

var (
	ssmlTag     = regexp.MustCompile(`<(/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	ssmlComment = regexp.MustCompile(`(?s)<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^>]*>`)
	looksSSML   = regexp.MustCompile(`<\s*/?\s*[A-Za-z][\w:.-]*[^<>]*>`)
)

// LooksLikeSSML reports whether text holds markup rather than plain text.
func LooksLikeSSML(text string) bool { return looksSSML.MatchString(text) }

// CleanSSML keeps the tags espeak-ng understands and strips the others
// (keeping their text), plus comments, processing instructions and DOCTYPE.
// A stray '<' that is not a tag is escaped so the result stays well-formed
// enough for espeak's parser.
func CleanSSML(text string) string {
	text = ssmlComment.ReplaceAllString(text, "")
	var b strings.Builder
	last := 0
	for _, m := range ssmlTag.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(escapeLT(text[last:m[0]]))
		name := strings.ToLower(text[m[4]:m[5]])
		if espeakSSML[name] {
			b.WriteString(text[m[0]:m[1]])
		}
		last = m[1]
	}
	b.WriteString(escapeLT(text[last:]))
	return b.String()
}

func escapeLT(s string) string {
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}
