package bxml

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// fillAll returns element name with every attribute set to a valid value
// that differs from its default (so Marshal must write it) and one child
// of every allowed kind.
func fillAll(t *testing.T, name string) reflect.Value {
	t.Helper()
	s := specByName[name]
	ptr := reflect.New(s.typ)
	v := ptr.Elem()
	for _, f := range s.attrs {
		setSample(t, v.FieldByIndex(f.index), f, s.name)
	}
	if s.text != nil {
		setSample(t, v.FieldByIndex(s.text.index), s.text, s.name)
	}
	if s.children != nil {
		sl := v.FieldByIndex(s.children.index)
		for _, c := range s.children.allowed {
			child := fillAll(t, c)
			if s.children.elem.Kind() == reflect.Interface {
				sl.Set(reflect.Append(sl, child))
			} else {
				sl.Set(reflect.Append(sl, child.Elem()))
			}
		}
	}
	return ptr
}

func setSample(t *testing.T, fv reflect.Value, f *fieldSpec, elem string) {
	t.Helper()
	switch f.kind {
	case kindOptString:
		s := "tag-" + elem
		fv.Set(reflect.ValueOf(&s))
	case kindString:
		var s string
		switch {
		case f.method:
			s = "GET"
		case f.ws:
			s = "wss://example.com/" + f.name
		case f.url:
			s = "https://example.com/" + elem + "/" + f.name + "?a=1&b=<2>"
		case len(f.enum) > 0:
			s = f.enum[len(f.enum)-1]
			if s == f.def {
				s = f.enum[0]
			}
		case f.chars != "":
			s = "*#1"
			if f.chars == dialDigits {
				s = "12w3W#*"
			}
		case f.e164:
			s = "+15551234567"
		case f.sip:
			s = "sip:bob@127.0.0.1:5070;transport=tcp"
		case f.ssml:
			s = `Hello <break time="1s"/> &amp; "welcome" <say-as interpret-as="digits">123</say-as>`
		case elem == "SipHeader" && f.name == "name": // an X- header name
			s = "X-Sample-Header"
		default:
			s = elem + ` "` + f.name + `" & <x>` + "\ttab"
			if f.maxLen > 0 && len(s) > f.maxLen {
				s = s[:f.maxLen]
			}
		}
		fv.SetString(s)
	case kindBool:
		fv.SetBool(f.defaultString() != "true")
	case kindInt:
		n := int64(f.min) + 1
		if strings.TrimSpace(f.defaultString()) == fmtNum(float64(n)) {
			n++
		}
		fv.SetInt(n)
	case kindFloat:
		x := f.min + 0.5
		if fmtNum(x) == f.defaultString() {
			x += 0.25
		}
		fv.SetFloat(x)
	}
}

func TestRoundTripEveryVerbEveryAttribute(t *testing.T) {
	doc := NewResponse()
	for _, name := range verbNames() {
		doc.Add(fillAll(t, name).Interface().(Verb))
	}
	out, err := doc.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v\n%s", err, doc.String())
	}
	// Every attribute differs from its default, so each must be written.
	for _, name := range elemNames {
		for _, f := range specByName[name].attrs {
			if !bytes.Contains(out, []byte(" "+f.name+`="`)) {
				t.Errorf("%s: attribute %s missing from output", name, f.name)
			}
		}
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, out)
	}
	if len(back.Verbs) != len(doc.Verbs) {
		t.Fatalf("got %d verbs, want %d", len(back.Verbs), len(doc.Verbs))
	}
	for i := range doc.Verbs {
		if !reflect.DeepEqual(back.Verbs[i], doc.Verbs[i]) {
			t.Errorf("verb %d %s:\n got %+v\nwant %+v", i, doc.Verbs[i].VerbName(), back.Verbs[i], doc.Verbs[i])
		}
	}
	again, err := back.Marshal()
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("second Marshal differs (err %v)", err)
	}
}

func TestRoundTripGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/all_verbs.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Verbs, doc.Verbs) || back.Root != doc.Root {
		t.Errorf("round trip differs:\n%s", out)
	}
}

func TestBuilder(t *testing.T) {
	g := NewGather("/gather", NewSpeakSentence("Press 1 & then #"), NewPlayAudio("https://example.com/a.wav"))
	g.MaxDigits = 3
	g.TerminatingDigits = "#"
	g.Tag = String("menu")
	tr := NewTransfer("/done", NewSipURI("sip:bob@example.com"), NewPhoneNumber("+15551234567"))
	tr.Targets[0].Options().TransferAnswerURL = "/answer"
	doc := NewResponse(NewTag("t1"), g, tr, NewRedirect("/next"), NewHangup())
	out, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?><Response><Tag>t1</Tag>` +
		`<Gather gatherUrl="/gather" tag="menu" terminatingDigits="#" maxDigits="3">` +
		`<SpeakSentence>Press 1 &amp; then #</SpeakSentence><PlayAudio>https://example.com/a.wav</PlayAudio></Gather>` +
		`<Transfer transferCompleteUrl="/done"><SipUri transferAnswerUrl="/answer">sip:bob@example.com</SipUri>` +
		`<PhoneNumber>+15551234567</PhoneNumber></Transfer><Redirect redirectUrl="/next"/><Hangup/></Response>`
	if string(out) != want {
		t.Errorf("Marshal\n got %s\nwant %s", out, want)
	}
	if doc.String() != want {
		t.Errorf("String differs from Marshal")
	}
	if got := NewBxml(NewHangup()).String(); got != xmlHeader+"<Bxml><Hangup/></Bxml>" {
		t.Errorf("NewBxml = %s", got)
	}
}

func TestMarshalValidates(t *testing.T) {
	tests := []struct {
		doc  *Document
		want string
	}{
		{NewResponse(&Gather{}), "Gather: attribute maxDigits: must be between 1 and 50"},
		{NewResponse(NewRedirect("")), "Redirect: attribute redirectUrl: required"},
		{NewResponse(NewTransfer("")), "Transfer: needs at least one <PhoneNumber> or <SipUri>"},
		{NewResponse(NewSpeakSSML("<break>unclosed")), "malformed XML"},
		{NewResponse(nil), "verb 1 is nil"},
		{NewResponse(NewGather("", nil)), "Gather: nested element 1 is nil"},
	}
	for _, tc := range tests {
		_, err := tc.doc.Marshal()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Marshal(%s) = %v, want %q", tc.doc.String(), err, tc.want)
		}
	}
}
