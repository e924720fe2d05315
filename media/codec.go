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

// Well-known codecs. PCMU, PCMA and G722 use their static payload types;
// Opus and telephone-event the common dynamic ones.
var (
	CodecPCMU = Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}
	CodecPCMA = Codec{PayloadType: 8, Name: "PCMA", ClockRate: 8000}
	// CodecG722 samples at 16 kHz, but its RTP clock is 8000 (RFC 3551
	// §4.5.2 keeps the first profile's mistake).
	CodecG722 = Codec{PayloadType: 9, Name: "G722", ClockRate: 8000}
	// CodecOpus is opus/48000/2 whatever is sent (RFC 7587 §7): FEC and
	// DTX off unless the receiver's fmtp asks for them.
	CodecOpus = Codec{PayloadType: 111, Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "useinbandfec=0;usedtx=0"}
	// CodecG729 is offered without Annex B: we send no SID frames (and
	// decode a peer's).
	CodecG729           = Codec{PayloadType: 18, Name: "G729", ClockRate: 8000, Fmtp: "annexb=no"}
	CodecTelephoneEvent = Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-16"}
	// CodecTelephoneEvent48k goes with Opus: events count in the audio's
	// clock (RFC 4733 §2.1).
	CodecTelephoneEvent48k = Codec{PayloadType: 102, Name: "telephone-event", ClockRate: 48000, Fmtp: "0-16"}
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
	return strings.EqualFold(c.Name, CodecTelephoneEvent.Name) && c.ClockRate > 0
}

// ticksPerFrame is how far the RTP timestamp moves in one 20 ms frame.
func (c Codec) ticksPerFrame() uint32 {
	if c.ClockRate == 0 {
		return frameSamples
	}
	return c.ClockRate / 50
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
