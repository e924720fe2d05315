package media

import (
	"fmt"
	"slices"
	"strings"
)

// CodecList restricts and orders the codecs of one leg (a trunk's codec
// settings): encoding names as in SDP ("PCMU", "PCMA", "G722", "opus",
// "G729"), most preferred first, case-insensitive. Nil means every codec
// this server has, in its default order.
type CodecList []string

// KnownCodec returns the codec this server offers under name, with its
// default payload type and parameters.
func KnownCodec(name string) (Codec, bool) {
	for _, c := range []Codec{CodecPCMU, CodecPCMA, CodecG722, CodecOpus, CodecG729} {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Codec{}, false
}

// Validate reports a name that is not a KnownCodec, or one given twice.
func (l CodecList) Validate() error {
	for i, n := range l {
		if _, ok := KnownCodec(n); !ok {
			return fmt.Errorf("media: unknown codec %q (known: PCMU, PCMA, G722, opus, G729)", n)
		}
		if slices.IndexFunc(l[:i], func(o string) bool { return strings.EqualFold(o, n) }) >= 0 {
			return fmt.Errorf("media: codec %q listed twice", n)
		}
	}
	return nil
}

// allows reports whether the list lets c be used (telephone-event always).
func (l CodecList) allows(c Codec) bool {
	return l == nil || c.isTelephoneEvent() || l.rank(c) < len(l)
}

// rank is c's place in the list, len(l) when absent.
func (l CodecList) rank(c Codec) int {
	for i, n := range l {
		if k, ok := KnownCodec(n); ok && k.sameFormat(c) {
			return i
		}
	}
	return len(l)
}

// order returns cs sorted by the list's preference (stable: what the list
// does not name keeps its order, after what it does); nil keeps cs.
func (l CodecList) order(cs []Codec) []Codec {
	if l == nil {
		return cs
	}
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Codec) int { return l.rank(a) - l.rank(b) })
	return out
}

// defaults is what an offer lists after the peer's codecs: the list's codecs
// that can be transcoded, in its order, or offerCodecs.
func (l CodecList) defaults() []Codec {
	if l == nil {
		return offerCodecs()
	}
	var out []Codec
	for _, n := range l {
		if c, ok := KnownCodec(n); ok && c.Transcodable() {
			out = append(out, c)
		}
	}
	return out
}
