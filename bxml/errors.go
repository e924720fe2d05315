package bxml

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel kinds of *Error. Every *Error also matches ErrInvalid, so the
// engine needs one check to end a call with cause invalid-bxml.
var (
	ErrInvalid          = errors.New("invalid BXML")
	ErrSyntax           = errors.New("malformed XML")
	ErrTooLarge         = errors.New("document too large")
	ErrUnknownVerb      = errors.New("unknown verb")
	ErrUnknownAttribute = errors.New("unknown attribute")
	ErrInvalidValue     = errors.New("invalid value")
	ErrMissing          = errors.New("missing required value")
	ErrMisplaced        = errors.New("element not allowed here")
	ErrUnsupported      = errors.New("not available yet")
)

// Error is a BXML document problem with its position. Its message names the
// verb, the attribute and the reason, e.g.
// "Gather: attribute maxDigits: must be between 1 and 50 (line 3)".
type Error struct {
	Verb      string // element name; "" for document-level problems
	Attribute string // attribute name; "" when the problem is not one attribute
	Line      int    // 1-based; 0 when unknown (a built document)
	Column    int    // 1-based byte column of the element's start tag
	Reason    string
	Err       error // one of the Err* kinds above
}

func (e *Error) Error() string {
	var b strings.Builder
	// Unknown and unsupported verbs carry their name in the reason, where
	// it reads naturally: "unknown verb Gathr (did you mean Gather?)".
	prefixVerb := e.Verb != "" && !strings.HasPrefix(e.Reason, "unknown verb "+e.Verb) &&
		!strings.HasPrefix(e.Reason, "unsupported verb "+e.Verb)
	if prefixVerb {
		b.WriteString(e.Verb)
		b.WriteString(": ")
	}
	if e.Attribute != "" {
		b.WriteString("attribute ")
		b.WriteString(e.Attribute)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Unwrap returns the error kind.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every *Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// suggest returns " (did you mean X?)" for the closest candidate within a
// small edit distance, so typos are named together with their fix.
func suggest(name string, candidates []string) string {
	best, bestD := "", 4
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lname, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(name)/3) {
		return ""
	}
	return " (did you mean " + best + "?)"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
