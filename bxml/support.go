package bxml

import "fmt"

// unsupportedVerbs parse (they are part of BXML) but this server does not
// run them yet; a document using one ends the call with invalid-bxml and a
// message saying so, never silently skipping it.
var unsupportedVerbs = map[string]bool{
	"Conference":         true,
	"StartStream":        true,
	"StopStream":         true,
	"StartTranscription": true,
	"StopTranscription":  true,
	"Connect":            true,
}

// Supported reports whether this server runs the verb named name.
func Supported(name string) bool {
	s, ok := specByName[name]
	return ok && s.verb && !unsupportedVerbs[name]
}

// CheckSupported returns an *Error (kind ErrUnsupported) for the first verb
// in doc this server does not run yet, e.g.
// "unsupported verb Conference (not available yet) (line 4)". Run calls it
// before executing anything.
func CheckSupported(doc *Document) error {
	for i, v := range doc.Verbs {
		pos := doc.posOf(i)
		name := v.VerbName()
		if unsupportedVerbs[name] {
			return &Error{Verb: name, Line: pos.line, Column: pos.col,
				Reason: fmt.Sprintf("unsupported verb %s (not available yet)", name), Err: ErrUnsupported}
		}
	}
	return nil
}
