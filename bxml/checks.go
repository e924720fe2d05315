package bxml

import "fmt"

// MaxTransferTargets is how many PhoneNumber/SipUri a Transfer may ring at
// once, as Bandwidth documents.
const MaxTransferTargets = 8

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
		if len(e.Targets) != 1 {
			return "", "needs exactly one <SipUri>"
		}
	case *Connect:
		if len(e.Endpoints) == 0 {
			return "", "needs at least one <Endpoint>"
		}
	}
	return "", ""
}
