package bxml

import "testing"

// typicalDoc is an IVR answer: a greeting, a menu gathered with a nested
// prompt, and a fallback.
const typicalDoc = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Tag>ivr-main</Tag>
  <SpeakSentence voice="julie">Thank you for calling. Your call may be recorded.</SpeakSentence>
  <Gather gatherUrl="/gather" maxDigits="1" terminatingDigits="#" firstDigitTimeout="10" repeatCount="2">
    <SpeakSentence>Press 1 for sales, 2 for support, or stay on the line.</SpeakSentence>
    <PlayAudio>https://example.com/audio/beep.wav</PlayAudio>
  </Gather>
  <Transfer transferCompleteUrl="/transfer-complete" callTimeout="20">
    <SipUri transferAnswerUrl="/whisper">sip:operator@10.0.0.5:5060</SipUri>
  </Transfer>
  <Hangup/>
</Response>`

func BenchmarkParse(b *testing.B) {
	data := []byte(typicalDoc)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	doc, err := Parse([]byte(typicalDoc))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := doc.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
