package bxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
)

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// Marshal renders the document and validates the result with Parse, so a
// built document is held to exactly the rules a fetched one is: the error
// is an *Error naming the bad verb and attribute. Attributes equal to their
// default are left out.
func (d *Document) Marshal() ([]byte, error) {
	out, err := d.render()
	if err != nil {
		return nil, err
	}
	if _, err := parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// String renders the document without validating it (for logs and
// debugging); use Marshal to produce a document to send.
func (d *Document) String() string {
	out, err := d.render()
	if err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	return string(out)
}

func (d *Document) render() ([]byte, error) {
	root := d.Root
	if root == "" {
		root = RootResponse
	}
	var b bytes.Buffer
	b.Grow(256)
	b.WriteString(xmlHeader)
	b.WriteString("<" + root + ">")
	for i, v := range d.Verbs {
		if v == nil {
			return nil, &Error{Reason: fmt.Sprintf("verb %d is nil", i+1), Err: ErrInvalidValue}
		}
		if err := renderElement(&b, reflect.ValueOf(v)); err != nil {
			return nil, err
		}
	}
	b.WriteString("</" + root + ">")
	return b.Bytes(), nil
}

func renderElement(b *bytes.Buffer, ptr reflect.Value) error {
	if ptr.Kind() == reflect.Pointer {
		if ptr.IsNil() {
			return &Error{Reason: "nil element", Err: ErrInvalidValue}
		}
		ptr = ptr.Elem()
	}
	s, ok := specByType[ptr.Type()]
	if !ok {
		return &Error{Reason: fmt.Sprintf("type %s is not a BXML element", ptr.Type()), Err: ErrUnknownVerb}
	}
	b.WriteString("<" + s.name)
	for _, f := range s.attrs {
		val, set := fieldString(ptr.FieldByIndex(f.index), f)
		if !set {
			continue
		}
		b.WriteString(" " + f.name + `="`)
		xmlEscapeAttr(b, val)
		b.WriteByte('"')
	}
	var text string
	if s.text != nil {
		text, _ = fieldString(ptr.FieldByIndex(s.text.index), s.text)
	}
	var kids reflect.Value
	if s.children != nil {
		kids = ptr.FieldByIndex(s.children.index)
	}
	if text == "" && (!kids.IsValid() || kids.Len() == 0) {
		b.WriteString("/>")
		return nil
	}
	b.WriteByte('>')
	if s.text != nil && s.text.ssml {
		b.WriteString(text)
	} else if text != "" {
		_ = xml.EscapeText(b, []byte(text))
	}
	if kids.IsValid() {
		for i := range kids.Len() {
			k := kids.Index(i)
			if k.Kind() == reflect.Interface {
				k = k.Elem()
			}
			if !k.IsValid() {
				return &Error{Verb: s.name, Reason: fmt.Sprintf("nested element %d is nil", i+1), Err: ErrInvalidValue}
			}
			if err := renderElement(b, k); err != nil {
				return err
			}
		}
	}
	b.WriteString("</" + s.name + ">")
	return nil
}

// fieldString renders a field and reports whether it differs from its
// default (and so must be written).
func fieldString(fv reflect.Value, f *fieldSpec) (string, bool) {
	var s string
	switch f.kind {
	case kindString:
		s = fv.String()
	case kindOptString:
		if fv.IsNil() {
			return "", false
		}
		return fv.Elem().String(), true
	case kindBool:
		s = strconv.FormatBool(fv.Bool())
	case kindInt:
		s = strconv.FormatInt(fv.Int(), 10)
	case kindFloat:
		s = strconv.FormatFloat(fv.Float(), 'f', -1, 64)
	}
	if f.name == "" || (f.method && s == "") {
		// Text is written when present; an unset method means POST.
		return s, s != ""
	}
	return s, s != f.defaultString()
}

func xmlEscapeAttr(b *bytes.Buffer, s string) {
	// xml.EscapeText escapes newlines and tabs as character references,
	// which attribute normalisation would otherwise turn into spaces.
	_ = xml.EscapeText(b, []byte(s))
}
