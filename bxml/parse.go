package bxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ssmlElements are the SSML tags SpeakSentence may contain.
var ssmlElements = []string{"speak", "break", "emphasis", "lang", "p", "s", "say-as", "phoneme", "prosody", "sub", "amazon:effect", "mark", "w"}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// Parse reads and validates a BXML document (<Response> or <Bxml>). Every
// verb of the reference parses, including those this server does not run
// yet; CheckSupported reports those. Errors are *Error (errors.Is(err,
// ErrInvalid) holds) with the verb, attribute, reason and line.
func Parse(data []byte) (*Document, error) {
	doc, err := parse(data)
	if err != nil {
		countParseError()
		return nil, err
	}
	return doc, nil
}

type parser struct {
	data    []byte
	dec     *xml.Decoder
	linePos int // lineCol's cache: lines newlines before linePos,
	lines   int // the last of them at lastNL (-1: none)
	lastNL  int
}

func parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, &Error{Reason: fmt.Sprintf("document is %d bytes, the limit is %d", len(data), MaxDocumentSize), Err: ErrTooLarge}
	}
	// Some servers (.NET among them) start UTF-8 bodies with a byte order
	// mark, which the decoder would report as text before the root.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &parser{data: data, dec: xml.NewDecoder(bytes.NewReader(data)), lastNL: -1}
	p.dec.Strict = true
	var doc *Document
	for {
		off := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.syntax(err, off)
		}
		switch t := tok.(type) {
		case xml.ProcInst, xml.Comment:
		case xml.Directive:
			return nil, p.errAt(off, "", "", "DTD and other directives are not allowed", ErrSyntax)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, p.errAt(off, "", "", "text outside the root element", ErrSyntax)
			}
		case xml.StartElement:
			if doc != nil {
				return nil, p.errAt(off, t.Name.Local, "", "more than one root element", ErrSyntax)
			}
			name := qname(t.Name)
			if name != RootResponse && name != RootBxml {
				return nil, p.errAt(off, name, "", "root element must be <Response> or <Bxml>"+suggest(name, []string{RootResponse, RootBxml}), ErrSyntax)
			}
			for _, a := range t.Attr {
				if !isNamespaceDecl(a.Name) {
					return nil, p.errAt(off, name, qname(a.Name), "unknown attribute", ErrUnknownAttribute)
				}
			}
			doc = &Document{Root: name}
			if err := p.parseRoot(doc); err != nil {
				return nil, err
			}
		}
	}
	if doc == nil {
		return nil, &Error{Reason: "empty document: no <Response> or <Bxml> root", Err: ErrSyntax}
	}
	return doc, nil
}

func (p *parser) parseRoot(doc *Document) error {
	for {
		off := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(err, off)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.Directive:
			return p.errAt(off, doc.Root, "", "directives are not allowed", ErrSyntax)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return p.errAt(off, doc.Root, "", fmt.Sprintf("unexpected text %q: put text inside a verb", clip(string(bytes.TrimSpace(t)))), ErrSyntax)
			}
		case xml.StartElement:
			name := qname(t.Name)
			s, ok := specByName[name]
			if !ok {
				return p.errAt(off, name, "", "unknown verb "+name+suggestVerb(name), ErrUnknownVerb)
			}
			if !s.verb {
				return p.errAt(off, name, "", fmt.Sprintf("<%s> is only allowed inside %s", name, parentsOf(name)), ErrMisplaced)
			}
			v, err := p.parseElement(t, s, off)
			if err != nil {
				return err
			}
			line, col := p.lineCol(off)
			doc.Verbs = append(doc.Verbs, v.Interface().(Verb))
			doc.pos = append(doc.pos, position{line, col})
		}
	}
}

// parseElement decodes one element (its start tag already read) into a new
// *T, applying defaults, attributes, text and children, then cross-checks.
func (p *parser) parseElement(start xml.StartElement, s *elemSpec, off int64) (reflect.Value, error) {
	ptr := reflect.New(s.typ)
	v := ptr.Elem()
	s.applyDefaults(v)
	seen := make(map[string]bool, len(start.Attr))
	for _, a := range start.Attr {
		if isNamespaceDecl(a.Name) {
			continue
		}
		name := qname(a.Name)
		f, ok := s.byName[name]
		if !ok {
			return ptr, p.errAt(off, s.name, name, "unknown attribute"+suggest(name, attrNames(s)), ErrUnknownAttribute)
		}
		if seen[name] {
			return ptr, p.errAt(off, s.name, name, "given more than once", ErrInvalidValue)
		}
		seen[name] = true
		if reason, kind := setValue(v.FieldByIndex(f.index), f, a.Value); reason != "" {
			return ptr, p.errAt(off, s.name, name, reason, kind)
		}
	}
	for _, f := range s.attrs {
		if f.required && !seen[f.name] {
			return ptr, p.errAt(off, s.name, f.name, "required", ErrMissing)
		}
	}
	text, err := p.parseContent(s, v, off)
	if err != nil {
		return ptr, err
	}
	if s.text != nil {
		text = strings.TrimSpace(text)
		if s.text.required && text == "" {
			return ptr, p.errAt(off, s.name, "", "text content is required", ErrMissing)
		}
		if reason, kind := setValue(v.FieldByIndex(s.text.index), s.text, text); reason != "" {
			return ptr, p.errAt(off, s.name, "", "text: "+reason, kind)
		}
	}
	if attr, reason := crossCheck(ptr.Interface()); reason != "" {
		return ptr, p.errAt(off, s.name, attr, reason, ErrInvalidValue)
	}
	return ptr, nil
}

// parseContent reads up to the element's end tag: text, nested children
// and, for SpeakSentence, SSML kept verbatim as markup.
func (p *parser) parseContent(s *elemSpec, v reflect.Value, startOff int64) (string, error) {
	var text strings.Builder
	contentStart := p.dec.InputOffset()
	for {
		off := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			return "", p.syntax(err, off)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if s.text != nil && s.text.ssml {
				return string(p.data[contentStart:off]), nil
			}
			return text.String(), nil
		case xml.Comment, xml.ProcInst:
		case xml.Directive:
			return "", p.errAt(off, s.name, "", "directives are not allowed", ErrSyntax)
		case xml.CharData:
			if s.text != nil {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return "", p.errAt(off, s.name, "", fmt.Sprintf("text content %q is not allowed", clip(string(bytes.TrimSpace(t)))), ErrInvalidValue)
			}
		case xml.StartElement:
			name := qname(t.Name)
			if s.text != nil && s.text.ssml {
				if !slices.Contains(ssmlElements, name) {
					return "", p.errAt(off, s.name, "", fmt.Sprintf("SSML element <%s> is not supported%s", name, suggest(name, ssmlElements)), ErrInvalidValue)
				}
				if err := p.skipSSML(s.name); err != nil {
					return "", err
				}
				continue
			}
			if s.children == nil || !slices.Contains(s.children.allowed, name) {
				return "", p.misplaced(off, s, name)
			}
			cs := specByName[name]
			child, err := p.parseElement(t, cs, off)
			if err != nil {
				return "", err
			}
			sl := v.FieldByIndex(s.children.index)
			if s.children.elem.Kind() == reflect.Interface {
				sl.Set(reflect.Append(sl, child))
			} else {
				sl.Set(reflect.Append(sl, child.Elem()))
			}
		}
	}
}

// skipSSML consumes nested SSML (already checked at the outer tag), checking
// every inner tag name too.
func (p *parser) skipSSML(verb string) error {
	for depth := 1; depth > 0; {
		off := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(err, off)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := qname(t.Name)
			if !slices.Contains(ssmlElements, name) {
				return p.errAt(off, verb, "", fmt.Sprintf("SSML element <%s> is not supported%s", name, suggest(name, ssmlElements)), ErrInvalidValue)
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			return p.errAt(off, verb, "", "directives are not allowed", ErrSyntax)
		}
	}
	return nil
}

func (p *parser) misplaced(off int64, parent *elemSpec, name string) error {
	if _, known := specByName[name]; !known {
		return p.errAt(off, parent.name, "", fmt.Sprintf("unknown element <%s>%s", name, suggest(name, childCandidates(parent))), ErrUnknownVerb)
	}
	allowed := "no nested elements"
	if parent.children != nil {
		allowed = "only " + strings.Join(parent.children.allowed, ", ")
	}
	return p.errAt(off, parent.name, "", fmt.Sprintf("<%s> is not allowed here (%s)", name, allowed), ErrMisplaced)
}

// setValue parses, validates and stores one attribute or text value. It
// returns a human reason and the error kind on failure.
func setValue(fv reflect.Value, f *fieldSpec, raw string) (string, error) {
	switch f.kind {
	case kindString, kindOptString:
		val, reason := checkString(f, raw)
		if reason != "" {
			return reason, ErrInvalidValue
		}
		if f.kind == kindOptString {
			fv.Set(reflect.ValueOf(&val))
		} else {
			fv.SetString(val)
		}
	case kindBool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true":
			fv.SetBool(true)
		case "false":
			fv.SetBool(false)
		default:
			return fmt.Sprintf("must be true or false, got %q", clip(raw)), ErrInvalidValue
		}
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Sprintf("must be an integer, got %q", clip(raw)), ErrInvalidValue
		}
		if reason := checkRange(f, float64(n)); reason != "" {
			return reason, ErrInvalidValue
		}
		fv.SetInt(int64(n))
	case kindFloat:
		x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("must be a number, got %q", clip(raw)), ErrInvalidValue
		}
		if reason := checkRange(f, x); reason != "" {
			return reason, ErrInvalidValue
		}
		fv.SetFloat(x)
	}
	return "", nil
}

func checkRange(f *fieldSpec, x float64) string {
	lo, hi := fmtNum(f.min), fmtNum(f.max)
	switch {
	case f.hasMin && f.hasMax && (x < f.min || x > f.max):
		return fmt.Sprintf("must be between %s and %s", lo, hi)
	case f.hasMin && x < f.min:
		return "must be at least " + lo
	case f.hasMax && x > f.max:
		return "must be at most " + hi
	}
	return ""
}

func checkString(f *fieldSpec, raw string) (string, string) {
	val := raw
	if f.method {
		val = strings.ToUpper(strings.TrimSpace(raw))
		if val != "GET" && val != "POST" {
			return "", fmt.Sprintf("must be GET or POST, got %q", clip(raw))
		}
		return val, ""
	}
	if !utf8.ValidString(val) {
		return "", "is not valid UTF-8"
	}
	if f.maxLen > 0 && utf8.RuneCountInString(val) > f.maxLen {
		return "", fmt.Sprintf("longer than %d characters", f.maxLen)
	}
	if len(f.enum) > 0 && !slices.Contains(f.enum, val) {
		return "", fmt.Sprintf("must be one of %s, got %q", strings.Join(f.enum, ", "), clip(raw))
	}
	if f.chars != "" {
		for _, r := range val {
			if !strings.ContainsRune(f.chars, r) {
				return "", fmt.Sprintf("invalid character %q (allowed: %s)", r, f.chars)
			}
		}
	}
	if (f.url || f.ws) && val != "" {
		if reason := checkURL(val, f.ws); reason != "" {
			return "", reason
		}
	}
	if f.e164 && !e164.MatchString(val) {
		return "", fmt.Sprintf("%q is not an E.164 number (+ and up to 15 digits)", clip(val))
	}
	if f.sip {
		l := strings.ToLower(val)
		if !(strings.HasPrefix(l, "sip:") && len(l) > 4) && !(strings.HasPrefix(l, "sips:") && len(l) > 5) {
			return "", fmt.Sprintf("%q is not a sip: or sips: URI", clip(val))
		}
	}
	return val, ""
}

// checkURL accepts absolute http(s) URLs (ws(s) for stream destinations)
// and, for callbacks, relative references resolved later against the URL
// that served the document.
func checkURL(val string, ws bool) string {
	u, err := url.Parse(val)
	if err != nil {
		return fmt.Sprintf("not a valid URL: %q", clip(val))
	}
	if ws {
		if u.Scheme != "wss" && u.Scheme != "ws" || u.Host == "" {
			return fmt.Sprintf("must be a ws:// or wss:// URL, got %q", clip(val))
		}
		return ""
	}
	if u.Scheme == "" {
		if u.Host != "" {
			return fmt.Sprintf("URL %q has a host but no scheme", clip(val))
		}
		return ""
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("must be an http(s) URL or a relative one, got %q", clip(val))
	}
	return ""
}

func (p *parser) syntax(err error, off int64) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: se.Line, Reason: "malformed XML: " + se.Msg, Err: ErrSyntax}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	line, col := p.lineCol(off)
	return &Error{Line: line, Column: col, Reason: "malformed XML: " + err.Error(), Err: ErrSyntax}
}

func (p *parser) errAt(off int64, verb, attr, reason string, kind error) *Error {
	line, col := p.lineCol(off)
	return &Error{Verb: verb, Attribute: attr, Line: line, Column: col, Reason: reason, Err: kind}
}

// lineCol turns a byte offset into a 1-based line and column. Offsets
// mostly grow (one call per top-level verb), so newlines are counted
// incrementally from the previous call instead of from the start.
func (p *parser) lineCol(off int64) (int, int) {
	if off < 0 || off > int64(len(p.data)) {
		return 0, 0
	}
	// The decoder's offset may sit before whitespace of the token; skip
	// it so the position is the '<' of the element.
	rest := p.data[off:]
	pos := int(off) + len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
	if pos < p.linePos {
		p.linePos, p.lines, p.lastNL = 0, 0, -1
	}
	seg := p.data[p.linePos:pos]
	p.lines += bytes.Count(seg, []byte{'\n'})
	if i := bytes.LastIndexByte(seg, '\n'); i >= 0 {
		p.lastNL = p.linePos + i
	}
	p.linePos = pos
	return p.lines + 1, pos - p.lastNL
}

// qname is the element or attribute name as written. A namespace the
// document declared (resolved to a URI by the decoder) is ignored; an
// undeclared prefix such as SSML's "amazon:" is kept.
func qname(n xml.Name) string {
	if n.Space != "" && !strings.Contains(n.Space, "/") {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func isNamespaceDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}

// otherDialects maps verbs of other call-control languages (TwiML, Plivo,
// Telnyx TeXML) to their BXML counterpart, for a helpful error.
var otherDialects = map[string]string{
	"Say": "SpeakSentence", "Play": "PlayAudio", "Dial": "Transfer", "Reject": "Hangup",
	"Number": "PhoneNumber", "Sip": "SipUri", "Speak": "SpeakSentence", "GetDigits": "Gather",
	"Enqueue": "Conference", "Stream": "StartStream", "Leave": "Hangup",
}

func suggestVerb(name string) string {
	if v, ok := otherDialects[name]; ok {
		return " (BXML uses <" + v + ">)"
	}
	return suggest(name, verbNames())
}

func verbNames() []string {
	var out []string
	for _, n := range elemNames {
		if specByName[n].verb {
			out = append(out, n)
		}
	}
	return out
}

func attrNames(s *elemSpec) []string {
	out := make([]string, len(s.attrs))
	for i, a := range s.attrs {
		out[i] = a.name
	}
	return out
}

func childCandidates(s *elemSpec) []string {
	if s.children != nil {
		return s.children.allowed
	}
	return elemNames
}

func parentsOf(name string) string {
	var out []string
	for _, n := range elemNames {
		if c := specByName[n].children; c != nil && slices.Contains(c.allowed, name) {
			out = append(out, "<"+n+">")
		}
	}
	return strings.Join(out, " or ")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
