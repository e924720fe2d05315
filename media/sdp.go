package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// maxSDPSize bounds what we parse; real audio descriptions are < 2 KiB.
const maxSDPSize = 16 << 10

// remoteMedia is what we take from the remote side's description.
type remoteMedia struct {
	rtp     netip.AddrPort // from c= and the audio m= port
	rtcp    netip.AddrPort // a=rtcp or rtp port+1
	proto   string         // RTP/AVP, RTP/SAVP, RTP/AVPF or RTP/SAVPF
	secure  bool           // proto is SAVP/SAVPF
	codecs  []Codec        // in the remote's order of preference
	cryptos []sdesKey      // supported a=crypto lines, in order
	dir     string         // sendrecv, sendonly, recvonly or inactive
	mIndex  int            // which m= line is the audio we use
	mLines  []sdp.MediaName
}

func notAcceptable(inner error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrNotAcceptable, inner, fmt.Sprintf(format, args...))
}

var errUnsupportedTransport = errors.New("no RTP/AVP or RTP/SAVP audio stream")

// parseRemote parses an offer or answer and picks its first usable audio
// stream.
func parseRemote(b []byte) (*remoteMedia, error) {
	if len(b) > maxSDPSize {
		return nil, notAcceptable(ErrBadSDP, "%d bytes", len(b))
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, notAcceptable(ErrBadSDP, "%v", err)
	}
	rm := &remoteMedia{mIndex: -1}
	for i, md := range sd.MediaDescriptions {
		rm.mLines = append(rm.mLines, md.MediaName)
		if rm.mIndex >= 0 || md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		proto := strings.Join(md.MediaName.Protos, "/")
		switch proto {
		case "RTP/AVP", "RTP/AVPF":
		case "RTP/SAVP", "RTP/SAVPF":
			rm.secure = true
		default:
			continue
		}
		if err := rm.fillAudio(&sd, md); err != nil {
			return nil, err
		}
		rm.proto = proto
		rm.mIndex = i
	}
	if rm.mIndex < 0 {
		return nil, notAcceptable(errUnsupportedTransport, "%d media lines", len(sd.MediaDescriptions))
	}
	return rm, nil
}

func (rm *remoteMedia) fillAudio(sd *sdp.SessionDescription, md *sdp.MediaDescription) error {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return notAcceptable(ErrBadSDP, "no connection address for audio")
	}
	host := ci.Address.Address
	if i := strings.IndexByte(host, '/'); i >= 0 { // multicast TTL
		host = host[:i]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return notAcceptable(ErrBadSDP, "connection address %q is not an IP address", host)
	}
	port := md.MediaName.Port.Value
	if port < 1 || port > 65535 {
		return notAcceptable(ErrBadSDP, "audio port %d", port)
	}
	rm.rtp = netip.AddrPortFrom(ip.Unmap(), uint16(port))
	rtcpPort := port + 1
	rtcpIP := ip
	if v, ok := md.Attribute("rtcp"); ok {
		f := strings.Fields(v)
		if len(f) > 0 {
			if p, err := strconv.Atoi(f[0]); err == nil && p > 0 && p < 65536 {
				rtcpPort = p
			}
		}
		if len(f) == 4 {
			if a, err := netip.ParseAddr(f[3]); err == nil {
				rtcpIP = a
			}
		}
	}
	if rtcpPort > 65535 {
		rtcpPort = port
	}
	rm.rtcp = netip.AddrPortFrom(rtcpIP.Unmap(), uint16(rtcpPort))

	rtpmap := map[uint8]Codec{}
	fmtp := map[uint8]string{}
	rm.dir = "sendrecv"
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			if c, ok := parseRtpmap(a.Value); ok {
				rtpmap[c.PayloadType] = c
			}
		case "fmtp":
			pt, rest, ok := strings.Cut(a.Value, " ")
			if n, err := strconv.Atoi(pt); ok && err == nil && n >= 0 && n < 128 {
				fmtp[uint8(n)] = strings.TrimSpace(rest)
			}
		case "sendrecv", "sendonly", "recvonly", "inactive":
			rm.dir = a.Key
		case "crypto":
			if k, ok := parseCrypto(a.Value); ok {
				rm.cryptos = append(rm.cryptos, k)
			}
		}
	}
	for _, f := range md.MediaName.Formats {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			continue
		}
		pt := uint8(n)
		c, ok := rtpmap[pt]
		if !ok {
			if c, ok = staticCodec(pt); !ok {
				continue
			}
		}
		c.Fmtp = fmtp[pt]
		rm.codecs = append(rm.codecs, c)
	}
	return nil
}

func parseRtpmap(v string) (Codec, bool) {
	pt, enc, ok := strings.Cut(v, " ")
	n, err := strconv.Atoi(pt)
	if !ok || err != nil || n < 0 || n > 127 {
		return Codec{}, false
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || parts[0] == "" {
		return Codec{}, false
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return Codec{}, false
	}
	c := Codec{PayloadType: uint8(n), Name: parts[0], ClockRate: uint32(rate)}
	if len(parts) > 2 {
		if ch, err := strconv.Atoi(parts[2]); err == nil && ch > 0 && ch < 256 {
			c.Channels = ch
		}
	}
	return c, true
}

// negotiated is the outcome of offer/answer for one leg.
type negotiated struct {
	audio   Codec
	dtmf    Codec
	hasDTMF bool
}

// choose picks the audio codec and telephone-event from the remote's list:
// the first codec accept allows (nil: the Transcodable ones), in the
// remote's order of preference, except
// that prefer wins if the remote listed it (a bridge then needs no
// transcoding). Of the telephone-events it takes the one in the audio's
// clock rate (RFC 4733 §2.1), else the first.
func choose(remote []Codec, accept func(Codec) bool, prefer *Codec) (negotiated, error) {
	if accept == nil {
		accept = Codec.Transcodable
	}
	var n negotiated
	found := false
	var events []Codec
	for _, c := range remote {
		switch {
		case c.isTelephoneEvent():
			events = append(events, c)
			continue
		case !accept(c):
			continue
		}
		if prefer != nil && c.sameFormat(*prefer) {
			n.audio, found = c, true
			prefer = nil
			continue
		}
		if !found {
			n.audio, found = c, true
		}
	}
	if !found {
		names := make([]string, 0, len(remote))
		for _, c := range remote {
			names = append(names, c.Name)
		}
		return n, notAcceptable(ErrNoCommonCodec, "offered %s", strings.Join(names, ","))
	}
	for _, e := range events {
		if !n.hasDTMF || e.ClockRate == n.audio.ClockRate && n.dtmf.ClockRate != n.audio.ClockRate {
			n.dtmf, n.hasDTMF = e, true
		}
	}
	return n, nil
}

// localDesc is everything needed to render our description.
type localDesc struct {
	sessID   uint64
	version  uint64
	ip       netip.Addr
	port     int
	proto    string
	codecs   []Codec
	dir      string
	crypto   *sdesKey
	rejected []sdp.MediaName // m= lines of an offer we answer, port set to 0 except mIndex
	mIndex   int
}

// render marshals the description with pion/sdp.
func (d localDesc) render() ([]byte, error) {
	nettype, addrType := "IN", "IP4"
	if d.ip.Is6() && !d.ip.Is4In6() {
		addrType = "IP6"
	}
	addr := d.ip.Unmap().String()
	sd := sdp.SessionDescription{
		Version:     0,
		Origin:      sdp.Origin{Username: "wasmvoice", SessionID: d.sessID, SessionVersion: d.version, NetworkType: nettype, AddressType: addrType, UnicastAddress: addr},
		SessionName: "wasmvoice",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: nettype, AddressType: addrType, Address: &sdp.Address{Address: addr},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	audio := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: d.port}, Protos: strings.Split(d.proto, "/"),
	}}
	for _, c := range d.codecs {
		audio.MediaName.Formats = append(audio.MediaName.Formats, strconv.Itoa(int(c.PayloadType)))
	}
	for _, c := range d.codecs {
		audio.Attributes = append(audio.Attributes, sdp.NewAttribute("rtpmap", c.rtpmap()))
		if c.Fmtp != "" {
			audio.Attributes = append(audio.Attributes, sdp.NewAttribute("fmtp", strconv.Itoa(int(c.PayloadType))+" "+c.Fmtp))
		}
	}
	audio.Attributes = append(audio.Attributes, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(d.dir))
	if d.crypto != nil {
		audio.Attributes = append(audio.Attributes, sdp.NewAttribute("crypto", d.crypto.attribute()))
	}
	if len(d.rejected) == 0 {
		sd.MediaDescriptions = []*sdp.MediaDescription{audio}
	}
	for i, mn := range d.rejected {
		if i == d.mIndex {
			sd.MediaDescriptions = append(sd.MediaDescriptions, audio)
			continue
		}
		mn.Port = sdp.RangedPort{Value: 0}
		sd.MediaDescriptions = append(sd.MediaDescriptions, &sdp.MediaDescription{MediaName: mn})
	}
	b, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("media: marshalling SDP: %w", err)
	}
	return b, nil
}

// answerDirection mirrors the offer's direction (RFC 3264 §6.1).
func answerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}
