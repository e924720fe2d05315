package calls

import (
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// After <Ring answerCall="false">, a prompt plays as early media: the call
// gets 183 with SDP, no 200, and <Hangup/> still rejects it.
func TestPromptAfterEarlyRingDoesNotAnswer(t *testing.T) {
	b := newBed(t)
	b.source.answer(bxml.EventInitiate, `<Response><Ring answerCall="false" duration="0.1"/><Pause duration="0.1"/><Hangup/></Response>`)
	leg := newFakeInbound()
	waitClosed(t, b.invite(leg), "call end")
	leg.mu.Lock()
	progressed := leg.progressed
	leg.mu.Unlock()
	if progressed != 1 {
		t.Errorf("%d 183s, want 1", progressed)
	}
	select {
	case <-leg.answered:
		t.Error("the prompt after an early Ring answered the call")
	default:
	}
	if status, _ := leg.rejection(); status != 603 {
		t.Errorf("rejected with %d, want 603", status)
	}
}
