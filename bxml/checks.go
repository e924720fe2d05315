package bxml

import (
	"fmt"
	"strings"
)

// MaxTransferTargets is how many PhoneNumber/SipUri a Transfer may ring at
// once, as Bandwidth documents.
const MaxTransferTargets = 8

// MaxReferHeaders bounds the SipHeader children of a Refer.
const MaxReferHeaders = 10

// isXHeaderName reports a custom header name: X- then letters, digits and -.
func isXHeaderName(n string) bool {
	if len(n) < 3 || !strings.EqualFold(n[:2], "X-") {
		return false
	}
	for _, c := range n[2:] {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// MaxGatherPrompts bounds repeatCount × nested prompts in a Gather.
const MaxGatherPrompts = 20

// crossCheck validates rules that span several fields of one element. It
// returns the attribute to blame ("" for the element) and a reason.
func crossCheck(v any) (string, string) {
	switch e := v.(type) {
	case *Gather:
		if n := len(e.Prompts); n > 0 && e.RepeatCount*n > MaxGatherPrompts {
			return "repeatCount", fmt.Sprintf("repeatCount %d × %d nested verbs is more than %d", e.RepeatCount, n, MaxGatherPrompts)
		}
	case *Transfer:
		if len(e.Targets) == 0 {
			return "", "needs at least one <PhoneNumber> or <SipUri>"
		}
		if len(e.Targets) > MaxTransferTargets {
			return "", fmt.Sprintf("has %d targets, at most %d are allowed", len(e.Targets), MaxTransferTargets)
		}
	case *Refer:
		targets := 0
		for _, c := range e.Children {
			if _, ok := c.(*SipURI); ok {
				targets++
			}
		}
		if targets != 1 {
			return "", "needs exactly one <SipUri>"
		}
		if len(e.Children) > 1+MaxReferHeaders {
			return "", fmt.Sprintf("has more than %d <SipHeader>", MaxReferHeaders)
		}
	case *SipHeader:
		if !isXHeaderName(e.Name) {
			return "name", fmt.Sprintf("%q is not an X- header name (letters, digits, -)", e.Name)
		}
		if strings.ContainsAny(e.Value, "\r\n\x00") {
			return "value", "contains a line break or NUL"
		}
	case *Connect:
		if len(e.Endpoints) == 0 {
			return "", "needs at least one <Endpoint>"
		}
	}
	return "", ""
}
