package bxml

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseAllVerbs(t *testing.T) {
	data, err := os.ReadFile("testdata/all_verbs.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	seen := map[string]bool{}
	for _, v := range doc.Verbs {
		seen[v.VerbName()] = true
	}
	for _, name := range verbNames() {
		if !seen[name] {
			t.Errorf("testdata/all_verbs.xml has no <%s>", name)
		}
	}

	g := findVerb[*Gather](t, doc)
	want := &Gather{
		GatherURL: "https://example.com/gather", GatherMethod: "POST", GatherFallbackMethod: "POST",
		Tag: String(""), TerminatingDigits: "#", MaxDigits: 4, InterDigitTimeout: 3, FirstDigitTimeout: 0, RepeatCount: 2,
		Prompts: []Prompt{
			&SpeakSentence{SSML: "Press a key", Gender: "female", Locale: "en_US"},
			&PlayAudio{URL: "https://example.com/beep.mp3"},
		},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("Gather:\n got %+v\nwant %+v", g, want)
	}

	s := doc.Verbs[1].(*SpeakSentence)
	if s.Voice != "julie" || !strings.Contains(s.SSML, `<break time="500ms"/>`) {
		t.Errorf("SpeakSentence = %+v", s)
	}
	if got := s.PlainText(); got != "Hello caller & friends" {
		t.Errorf("PlainText = %q", got)
	}

	tr := findVerb[*Transfer](t, doc)
	if len(tr.Targets) != 2 || tr.Targets[0].Address() != "+15554443333" || tr.Targets[1].Address() != "sip:bob@127.0.0.1:5070" {
		t.Fatalf("Transfer targets = %+v", tr.Targets)
	}
	if o := tr.Targets[0].Options(); o.TransferAnswerURL != "/ta" || o.Tag == nil || *o.Tag != "b-leg" || o.TransferAnswerMethod != "POST" {
		t.Errorf("PhoneNumber options = %+v", o)
	}
	if tr.CallTimeout != 20 || tr.DiversionTreatment != "stack" {
		t.Errorf("Transfer = %+v", tr)
	}

	r := findVerb[*Record](t, doc)
	if r.TerminatingDigits != "*" || r.MaxDuration != 30 || r.SilenceTimeout != 3 || r.Tag != nil {
		t.Errorf("Record = %+v", r)
	}
	if ring := findVerb[*Ring](t, doc); ring.AnswerCall || ring.Duration != 2 {
		t.Errorf("Ring = %+v", ring)
	}
	if p := findVerb[*Pause](t, doc); p.Duration != 1.5 {
		t.Errorf("Pause = %+v", p)
	}
	if sd := findVerb[*SendDtmf](t, doc); sd.Digits != "12w3W#*" || sd.ToneDuration != 100 {
		t.Errorf("SendDtmf = %+v", sd)
	}
	if tag := doc.Verbs[0].(*Tag); tag.Value != "start" {
		t.Errorf("Tag = %+v", tag)
	}
}

func TestParseDefaults(t *testing.T) {
	doc, err := Parse([]byte(`<Response><Gather/><Record/><Ring/><Pause/><SendDtmf>1</SendDtmf><Transfer><SipUri>sip:a@b</SipUri></Transfer></Response>`))
	if err != nil {
		t.Fatal(err)
	}
	g := doc.Verbs[0].(*Gather)
	if g.MaxDigits != 50 || g.InterDigitTimeout != 5 || g.FirstDigitTimeout != 5 || g.RepeatCount != 1 || g.TerminatingDigits != "" || g.GatherMethod != "POST" || g.Tag != nil {
		t.Errorf("Gather defaults = %+v", g)
	}
	r := doc.Verbs[1].(*Record)
	if r.MaxDuration != 60 || r.TerminatingDigits != "#" || r.FileFormat != "wav" || r.SilenceTimeout != 0 {
		t.Errorf("Record defaults = %+v", r)
	}
	if ring := doc.Verbs[2].(*Ring); ring.Duration != 5 || !ring.AnswerCall {
		t.Errorf("Ring defaults = %+v", ring)
	}
	if p := doc.Verbs[3].(*Pause); p.Duration != 1 {
		t.Errorf("Pause defaults = %+v", p)
	}
	if s := doc.Verbs[4].(*SendDtmf); s.ToneDuration != 200 || s.ToneInterval != 400 {
		t.Errorf("SendDtmf defaults = %+v", s)
	}
	if tr := doc.Verbs[5].(*Transfer); tr.CallTimeout != 30 {
		t.Errorf("Transfer defaults = %+v", tr)
	}
	// The constructors agree with the parser's defaults.
	if !reflect.DeepEqual(NewGather(""), g) {
		t.Errorf("NewGather() = %+v, parsed = %+v", NewGather(""), g)
	}
	if !reflect.DeepEqual(NewRecord(""), r) {
		t.Errorf("NewRecord() = %+v, parsed = %+v", NewRecord(""), r)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // the exact message, or a prefix ending in "…"
		kind error
	}{
		{"range", "<Response>\n\n  <Gather maxDigits=\"60\"/>\n</Response>", "Gather: attribute maxDigits: must be between 1 and 50 (line 3)", ErrInvalidValue},
		{"range float", `<Response><Gather interDigitTimeout="0.5"/></Response>`, "Gather: attribute interDigitTimeout: must be between 1 and 60 (line 1)", ErrInvalidValue},
		{"not an int", `<Response><Gather maxDigits="4.5"/></Response>`, `Gather: attribute maxDigits: must be an integer, got "4.5" (line 1)`, ErrInvalidValue},
		{"not a number", `<Response><Pause duration="NaN"/></Response>`, `Pause: attribute duration: must be a number, got "NaN" (line 1)`, ErrInvalidValue},
		{"negative pause", `<Response><Pause duration="-1"/></Response>`, `Pause: attribute duration: must be between 0 and 86400 (line 1)`, ErrInvalidValue},
		{"unknown verb typo", "<Response>\n<SpeakSentense>hi</SpeakSentense></Response>", "unknown verb SpeakSentense (did you mean SpeakSentence?) (line 2)", ErrUnknownVerb},
		{"unknown verb", `<Response><Foo>1</Foo></Response>`, "unknown verb Foo (line 1)", ErrUnknownVerb},
		{"twiml verb", `<Response><Say>hi</Say></Response>`, "unknown verb Say (BXML uses <SpeakSentence>) (line 1)", ErrUnknownVerb},
		{"unknown attribute typo", `<Response><Gather maxDigit="3"/></Response>`, "Gather: attribute maxDigit: unknown attribute (did you mean maxDigits?) (line 1)", ErrUnknownAttribute},
		{"unknown attribute", `<Response><Hangup reason="x"/></Response>`, "Hangup: attribute reason: unknown attribute (line 1)", ErrUnknownAttribute},
		{"bad method", `<Response><Gather gatherMethod="PUT"/></Response>`, `Gather: attribute gatherMethod: must be GET or POST, got "PUT" (line 1)`, ErrInvalidValue},
		{"bad bool", `<Response><Ring answerCall="yes"/></Response>`, `Ring: attribute answerCall: must be true or false, got "yes" (line 1)`, ErrInvalidValue},
		{"bad enum", `<Response><Record fileFormat="ogg"/></Response>`, `Record: attribute fileFormat: must be one of wav, mp3, got "ogg" (line 1)`, ErrInvalidValue},
		{"missing required attribute", `<Response><Redirect/></Response>`, "Redirect: attribute redirectUrl: required (line 1)", ErrMissing},
		{"missing text", `<Response><PlayAudio/></Response>`, "PlayAudio: text content is required (line 1)", ErrMissing},
		{"bad url", `<Response><Redirect redirectUrl="ftp://x/y"/></Response>`, `Redirect: attribute redirectUrl: must be an http(s) URL or a relative one, got "ftp://x/y" (line 1)`, ErrInvalidValue},
		{"no targets", `<Response><Transfer/></Response>`, "Transfer: needs at least one <PhoneNumber> or <SipUri> (line 1)", ErrInvalidValue},
		{"misplaced child", `<Response><Gather><Hangup/></Gather></Response>`, "Gather: <Hangup> is not allowed here (only SpeakSentence, PlayAudio) (line 1)", ErrMisplaced},
		{"unknown child typo", `<Response><Transfer><PhoneNumbr>+15551234567</PhoneNumbr></Transfer></Response>`, "Transfer: unknown element <PhoneNumbr> (did you mean PhoneNumber?) (line 1)", ErrUnknownVerb},
		{"nested only", `<Response><PhoneNumber>+15551234567</PhoneNumber></Response>`, "PhoneNumber: <PhoneNumber> is only allowed inside <Transfer> (line 1)", ErrMisplaced},
		{"bad e164", `<Response><Transfer><PhoneNumber>555-1234</PhoneNumber></Transfer></Response>`, `PhoneNumber: text: "555-1234" is not an E.164 number (+ and up to 15 digits) (line 1)`, ErrInvalidValue},
		{"bad sip", `<Response><Transfer><SipUri>bob@example.com</SipUri></Transfer></Response>`, `SipUri: text: "bob@example.com" is not a sip: or sips: URI (line 1)`, ErrInvalidValue},
		{"bad dtmf", `<Response><SendDtmf>12x</SendDtmf></Response>`, `SendDtmf: text: invalid character 'x' (allowed: 0123456789*#wW) (line 1)`, ErrInvalidValue},
		{"bad terminating digit", `<Response><Gather terminatingDigits="a"/></Response>`, `Gather: attribute terminatingDigits: invalid character 'a' (allowed: 0123456789*#) (line 1)`, ErrInvalidValue},
		{"tag too long", `<Response><Tag>` + strings.Repeat("x", 257) + `</Tag></Response>`, "Tag: text: longer than 256 characters (line 1)", ErrInvalidValue},
		{"tag attr too long", `<Response><Gather tag="` + strings.Repeat("x", 257) + `"/></Response>`, "Gather: attribute tag: longer than 256 characters (line 1)", ErrInvalidValue},
		{"text not allowed", `<Response><Hangup>now</Hangup></Response>`, `Hangup: text content "now" is not allowed (line 1)`, ErrInvalidValue},
		{"repeat product", `<Response><Gather repeatCount="11"><SpeakSentence>a</SpeakSentence><SpeakSentence>b</SpeakSentence></Gather></Response>`, "Gather: attribute repeatCount: repeatCount 11 × 2 nested verbs is more than 20 (line 1)", ErrInvalidValue},
		{"duplicate attribute", `<Response><Pause duration="1" duration="2"/></Response>`, "Pause: attribute duration: given more than once (line 1)", ErrInvalidValue},
		{"ssml unknown", `<Response><SpeakSentence>hi <brake/></SpeakSentence></Response>`, "SpeakSentence: SSML element <brake> is not supported (did you mean break?) (line 1)", ErrInvalidValue},
		{"wrong root", `<Resp><Hangup/></Resp>`, "Resp: root element must be <Response> or <Bxml> (line 1)", ErrSyntax},
		{"empty", ``, "empty document: no <Response> or <Bxml> root", ErrSyntax},
		{"text at root", `<Response>hello</Response>`, `Response: unexpected text "hello": put text inside a verb (line 1)`, ErrSyntax},
		{"malformed", "<Response>\n<Hangup>\n</Response>", "malformed XML: element <Hangup> closed by </Response> (line 3)", ErrSyntax},
		{"truncated", `<Response><Hangup/>`, "malformed XML: unexpected EOF (line 1)", ErrSyntax},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><Response/>`, "DTD and other directives are not allowed (line 1)", ErrSyntax},
		{"two roots", `<Response/><Response/>`, "Response: more than one root element (line 1)", ErrSyntax},
		{"too large", `<Response>` + strings.Repeat(" ", MaxDocumentSize) + `</Response>`, fmt.Sprintf("document is %d bytes, the limit is 65536", MaxDocumentSize+len("<Response></Response>")), ErrTooLarge},
		{"ws url", `<Response><StartStream destination="https://x/y"/></Response>`, `StartStream: attribute destination: must be a ws:// or wss:// URL, got "https://x/y" (line 1)`, ErrInvalidValue},
		{"too many targets", `<Response><Transfer>` + strings.Repeat(`<SipUri>sip:a@b</SipUri>`, 9) + `</Transfer></Response>`, "Transfer: has 9 targets, at most 8 are allowed (line 1)", ErrInvalidValue},
		{"namespaced attribute", `<Response><Hangup x:y="1"/></Response>`, "Hangup: attribute x:y: unknown attribute (line 1)", ErrUnknownAttribute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", doc)
			}
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid")
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind = %v, want %v (%v)", be.Err, tc.kind, err)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	for _, doc := range []string{
		`<Response/>`,
		`<?xml version="1.0"?><Response></Response>`,
		`<Bxml><SpeakSentence>hi</SpeakSentence></Bxml>`,
		`<Response xmlns="http://example.com/ns"><Hangup/></Response>`,
		"<Response>\n  <!-- comment -->\n  <Hangup/>\n</Response>\n",
		`<Response><Gather gatherMethod="get" firstDigitTimeout="0"/></Response>`,
		`<Response><SpeakSentence><speak><prosody rate="slow">Slow <amazon:effect name="whispered">quiet</amazon:effect></prosody></speak></SpeakSentence></Response>`,
		`<Response><Tag/></Response>`,
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
		`<Response><Gather gatherUrl="gather?x=1&amp;y=2"/></Response>`,
	} {
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
		}
	}
}

func TestParsePositions(t *testing.T) {
	doc, err := Parse([]byte("<Response>\n  <Tag>a</Tag>\n\n    <Conference>c</Conference>\n</Response>"))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckSupported(doc)
	var be *Error
	if !errors.As(err, &be) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("CheckSupported = %v", err)
	}
	if be.Line != 4 || be.Column != 5 || be.Verb != "Conference" {
		t.Errorf("position = %+v", be)
	}
	if got, want := err.Error(), "unsupported verb Conference (not available yet) (line 4)"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestCheckSupported(t *testing.T) {
	for _, name := range []string{"Conference", "StartStream", "StopStream", "StartTranscription", "StopTranscription", "Connect"} {
		if Supported(name) {
			t.Errorf("Supported(%s) = true", name)
		}
	}
	for _, name := range []string{"SpeakSentence", "PlayAudio", "Pause", "Ring", "SendDtmf", "Gather", "StartGather", "StopGather",
		"Record", "StartRecording", "StopRecording", "PauseRecording", "ResumeRecording", "Transfer", "Bridge", "Forward", "Redirect", "Hangup", "Tag", "Refer"} {
		if !Supported(name) {
			t.Errorf("Supported(%s) = false", name)
		}
	}
	doc, err := Parse([]byte(`<Response><Record transcribe="true" transcriptionAvailableUrl="/t"/><StartRecording transcribe="true"/></Response>`))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSupported(doc); err != nil {
		t.Errorf("CheckSupported(transcribe) = %v", err)
	}
	if r := findVerb[*Record](t, doc); !r.Transcribe || r.TranscriptionAvailableTarget().URL != "/t" {
		t.Errorf("Record %+v", r)
	}
}

func findVerb[T Verb](t *testing.T, doc *Document) T {
	t.Helper()
	for _, v := range doc.Verbs {
		if x, ok := v.(T); ok {
			return x
		}
	}
	var zero T
	t.Fatalf("no %T in document", zero)
	return zero
}
