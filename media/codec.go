package media

import (
	"strconv"
	"strings"
)

// Codec is one RTP payload format as negotiated in SDP.
type Codec struct {
	PayloadType uint8
	Name        string // encoding name as in a=rtpmap, e.g. "PCMU", "opus"
	ClockRate   uint32
	Channels    int    // 0 when not given
	Fmtp        string // a=fmtp parameters, passed through unchanged
}

// Well-known codecs. PCMU and PCMA use their static payload types; the
// telephone-event type is the common dynamic 101.
var (
	CodecPCMU           = Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}
	CodecPCMA           = Codec{PayloadType: 8, Name: "PCMA", ClockRate: 8000}
	CodecTelephoneEvent = Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-16"}
)

// sameFormat reports whether two codecs are the same payload format, whatever
// payload type number each side gave it.
func (c Codec) sameFormat(o Codec) bool {
	ch := func(n int) int {
		if n == 0 {
			return 1
		}
		return n
	}
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate && ch(c.Channels) == ch(o.Channels)
}

func (c Codec) isG711() bool {
	return c.sameFormat(CodecPCMU) || c.sameFormat(CodecPCMA)
}

func (c Codec) isTelephoneEvent() bool {
	return strings.EqualFold(c.Name, CodecTelephoneEvent.Name) && c.ClockRate == 8000
}

func (c Codec) rtpmap() string {
	s := strconv.Itoa(int(c.PayloadType)) + " " + c.Name + "/" + strconv.FormatUint(uint64(c.ClockRate), 10)
	if c.Channels > 1 {
		s += "/" + strconv.Itoa(c.Channels)
	}
	return s
}

// staticCodec returns the RFC 3551 static audio payload types an offer may
// list without a=rtpmap.
func staticCodec(pt uint8) (Codec, bool) {
	switch pt {
	case 0:
		return CodecPCMU, true
	case 3:
		return Codec{PayloadType: 3, Name: "GSM", ClockRate: 8000}, true
	case 8:
		return CodecPCMA, true
	case 9:
		return Codec{PayloadType: 9, Name: "G722", ClockRate: 8000}, true
	case 13:
		return Codec{PayloadType: 13, Name: "CN", ClockRate: 8000}, true
	case 18:
		return Codec{PayloadType: 18, Name: "G729", ClockRate: 8000}, true
	}
	return Codec{}, false
}
