package bxml

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// valueKind is the Go shape of an attribute or text field.
type valueKind int

const (
	kindString valueKind = iota
	kindOptString
	kindBool
	kindInt
	kindFloat
)

// fieldSpec describes one attribute or the text content of an element,
// decoded from its `bxml` struct tag.
type fieldSpec struct {
	name     string // attribute name; "" for text
	index    []int
	kind     valueKind
	def      string
	hasDef   bool
	min, max float64
	hasMin   bool
	hasMax   bool
	enum     []string
	method   bool
	url      bool
	ws       bool
	required bool
	maxLen   int
	chars    string
	e164     bool
	sip      bool
	ssml     bool
}

// childSpec describes the nested elements an element accepts.
type childSpec struct {
	index   []int
	allowed []string
	elem    reflect.Type // slice element type: interface or struct
}

// elemSpec is everything the parser and marshaller know about one element.
type elemSpec struct {
	name     string
	typ      reflect.Type // struct type
	attrs    []*fieldSpec
	byName   map[string]*fieldSpec
	text     *fieldSpec
	children *childSpec
	verb     bool // may appear at document level
}

const (
	keyDigits  = "0123456789*#"
	dialDigits = "0123456789*#wW"
)

// prototypes lists every element with its XML name; order is the order of
// suggestions and of documentation, nothing else.
var prototypes = []struct {
	name string
	v    any
}{
	{"SpeakSentence", (*SpeakSentence)(nil)},
	{"PlayAudio", (*PlayAudio)(nil)},
	{"Pause", (*Pause)(nil)},
	{"Ring", (*Ring)(nil)},
	{"SendDtmf", (*SendDtmf)(nil)},
	{"Gather", (*Gather)(nil)},
	{"StartGather", (*StartGather)(nil)},
	{"StopGather", (*StopGather)(nil)},
	{"Record", (*Record)(nil)},
	{"StartRecording", (*StartRecording)(nil)},
	{"StopRecording", (*StopRecording)(nil)},
	{"PauseRecording", (*PauseRecording)(nil)},
	{"ResumeRecording", (*ResumeRecording)(nil)},
	{"Transfer", (*Transfer)(nil)},
	{"PhoneNumber", (*PhoneNumber)(nil)},
	{"SipUri", (*SipURI)(nil)},
	{"Bridge", (*Bridge)(nil)},
	{"Conference", (*Conference)(nil)},
	{"Forward", (*Forward)(nil)},
	{"Redirect", (*Redirect)(nil)},
	{"Hangup", (*Hangup)(nil)},
	{"Tag", (*Tag)(nil)},
	{"StartStream", (*StartStream)(nil)},
	{"StreamParam", (*StreamParam)(nil)},
	{"StopStream", (*StopStream)(nil)},
	{"StartTranscription", (*StartTranscription)(nil)},
	{"CustomParam", (*CustomParam)(nil)},
	{"StopTranscription", (*StopTranscription)(nil)},
	{"Refer", (*Refer)(nil)},
	{"SipHeader", (*SipHeader)(nil)},
	{"Connect", (*Connect)(nil)},
	{"Endpoint", (*Endpoint)(nil)},
}

var (
	specByName = map[string]*elemSpec{}
	specByType = map[reflect.Type]*elemSpec{}
	elemNames  []string
)

var verbIface = reflect.TypeFor[Verb]()

func init() {
	for _, p := range prototypes {
		t := reflect.TypeOf(p.v).Elem()
		s, err := buildSpec(p.name, t)
		if err != nil {
			// The tags are constants of this package: a bad one is a
			// programming error caught by every test run.
			panic(err)
		}
		s.verb = reflect.PointerTo(t).Implements(verbIface)
		specByName[p.name] = s
		specByType[t] = s
		elemNames = append(elemNames, p.name)
	}
}

func buildSpec(name string, t reflect.Type) (*elemSpec, error) {
	s := &elemSpec{name: name, typ: t, byName: map[string]*fieldSpec{}}
	if err := collectFields(s, t, nil); err != nil {
		return nil, fmt.Errorf("bxml: %s: %w", name, err)
	}
	return s, nil
}

func collectFields(s *elemSpec, t reflect.Type, prefix []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(append([]int(nil), prefix...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := collectFields(s, f.Type, idx); err != nil {
				return err
			}
			continue
		}
		tag, ok := f.Tag.Lookup("bxml")
		if !ok {
			continue
		}
		parts := strings.Split(tag, ",")
		if parts[0] == "" && len(parts) > 1 && strings.HasPrefix(parts[1], "children=") {
			s.children = &childSpec{
				index:   idx,
				allowed: strings.Split(strings.TrimPrefix(parts[1], "children="), "|"),
				elem:    f.Type.Elem(),
			}
			continue
		}
		fs := &fieldSpec{name: parts[0], index: idx}
		switch {
		case f.Type.Kind() == reflect.String:
			fs.kind = kindString
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.String:
			fs.kind = kindOptString
		case f.Type.Kind() == reflect.Bool:
			fs.kind = kindBool
		case f.Type.Kind() == reflect.Int:
			fs.kind = kindInt
		case f.Type.Kind() == reflect.Float64:
			fs.kind = kindFloat
		default:
			return fmt.Errorf("field %s: unsupported type %s", f.Name, f.Type)
		}
		text := false
		for _, opt := range parts[1:] {
			key, val, _ := strings.Cut(opt, "=")
			var err error
			switch key {
			case "text":
				text = true
			case "default":
				fs.def, fs.hasDef = val, true
			case "min":
				fs.min, err = strconv.ParseFloat(val, 64)
				fs.hasMin = true
			case "max":
				fs.max, err = strconv.ParseFloat(val, 64)
				fs.hasMax = true
			case "enum":
				fs.enum = strings.Split(val, "|")
			case "method":
				fs.method = true
				fs.def, fs.hasDef = "POST", true
			case "url":
				fs.url = true
			case "ws":
				fs.ws = true
			case "required":
				fs.required = true
			case "maxlen":
				fs.maxLen, err = strconv.Atoi(val)
			case "chars":
				switch val {
				case "keys":
					fs.chars = keyDigits
				case "dial":
					fs.chars = dialDigits
				default:
					err = fmt.Errorf("unknown charset %q", val)
				}
			case "e164":
				fs.e164 = true
			case "sip":
				fs.sip = true
			case "ssml":
				fs.ssml = true
			default:
				err = fmt.Errorf("unknown option %q", key)
			}
			if err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		if text {
			s.text = fs
			continue
		}
		s.attrs = append(s.attrs, fs)
		s.byName[fs.name] = fs
	}
	return nil
}

// defaultString renders a field's default the way Marshal compares it.
func (f *fieldSpec) defaultString() string {
	if f.hasDef {
		return f.def
	}
	switch f.kind {
	case kindBool:
		return "false"
	case kindInt, kindFloat:
		return "0"
	}
	return ""
}

// applyDefaults sets every field of a freshly allocated element to its
// default. Defaults are constants of this package, so they always parse.
func (s *elemSpec) applyDefaults(v reflect.Value) {
	for _, f := range s.attrs {
		if !f.hasDef {
			continue
		}
		fv := v.FieldByIndex(f.index)
		switch f.kind {
		case kindString:
			fv.SetString(f.def)
		case kindBool:
			fv.SetBool(f.def == "true")
		case kindInt:
			n, _ := strconv.Atoi(f.def)
			fv.SetInt(int64(n))
		case kindFloat:
			x, _ := strconv.ParseFloat(f.def, 64)
			fv.SetFloat(x)
		}
	}
}
