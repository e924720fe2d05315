package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Header is a raw SIP header as received.
type Header struct {
	Name, Value string
}

// isXHeader reports whether name is an X-* extension header.
func isXHeader(name string) bool {
	return len(name) >= 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-'
}

// stripXHeaders returns a copy of req without any X-* header, and the X-*
// headers it removed in their original order. req itself is not modified.
func stripXHeaders(req *sip.Request) (*sip.Request, []Header) {
	var xs, proxy []Header
	for _, h := range req.Headers() {
		switch {
		case strings.EqualFold(h.Name(), SourceHeader):
			// The proxy's note for the front door (requestSource), not
			// the caller's: never mapped onward.
			proxy = append(proxy, Header{Name: h.Name()})
		case isXHeader(h.Name()):
			xs = append(xs, Header{Name: h.Name(), Value: h.Value()})
		}
	}
	clean := req.Clone()
	// RemoveHeader drops the first header with exactly this name, so one
	// call per removed header removes them all.
	for _, x := range append(xs, proxy...) {
		clean.RemoveHeader(x.Name)
	}
	return clean, xs
}
