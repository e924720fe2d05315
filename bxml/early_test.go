package bxml

import (
	"reflect"
	"slices"
	"testing"
)

// earlyCall is a fakeCall that plays early media once a Ring ran before
// the answer.
type earlyCall struct{ *fakeCall }

func (e earlyCall) InEarlyMedia() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.answered && slices.ContainsFunc(e.log, func(s string) bool { return len(s) > 5 && s[:5] == "ring:" })
}

// After <Ring answerCall="false">, prompts play before the answer (early
// media); the Gather answers. Without the Ring the first prompt answers.
func TestPromptsAfterEarlyRingStayUnanswered(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{`<Response><Ring answerCall="false" duration="1"/><SpeakSentence>Please hold</SpeakSentence><PlayAudio>https://example.com/a.wav</PlayAudio><Pause duration="0"/><Gather maxDigits="1" firstDigitTimeout="0"/></Response>`,
			[]string{"ring:1s", "speak:Please hold", "play:https://example.com/a.wav", "answer"}},
		{`<Response><Ring answerCall="false" duration="1"/><SpeakSentence>Not in service</SpeakSentence><Hangup/></Response>`,
			[]string{"ring:1s", "speak:Not in service"}},
		{`<Response><SpeakSentence>Hello</SpeakSentence></Response>`,
			[]string{"answer", "speak:Hello"}},
	} {
		c := earlyCall{newFakeCall()}
		if _, err := Run(testCtx(t), mustParse(t, tc.doc), c); err != nil {
			t.Fatal(err)
		}
		if got := c.Log(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s\n got %q\nwant %q", tc.doc, got, tc.want)
		}
	}
}
