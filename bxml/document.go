package bxml

// MaxDocumentSize is the largest BXML document accepted, as in the BXML
// reference (64 KB).
const MaxDocumentSize = 64 << 10

// Root element names.
const (
	RootResponse = "Response" // a callback's answer
	RootBxml     = "Bxml"     // the body of PUT /calls/{callId}/bxml
)

// Document is a parsed or built BXML document.
type Document struct {
	Root  string // RootResponse or RootBxml
	Verbs []Verb
	// pos holds the source position of each verb (parallel to Verbs) when
	// the document was parsed, so later checks report lines too.
	pos []position
}

type position struct{ line, col int }

// NewResponse builds a <Response> document.
func NewResponse(verbs ...Verb) *Document {
	return &Document{Root: RootResponse, Verbs: verbs}
}

// NewBxml builds a <Bxml> document (the root used by updateCallBxml).
func NewBxml(verbs ...Verb) *Document {
	return &Document{Root: RootBxml, Verbs: verbs}
}

// Add appends verbs and returns the document, for chaining.
func (d *Document) Add(verbs ...Verb) *Document {
	d.Verbs = append(d.Verbs, verbs...)
	return d
}

func (d *Document) posOf(i int) position {
	if i < len(d.pos) {
		return d.pos[i]
	}
	return position{}
}
