package trunkops

import (
	"bytes"
	"slices"
	"strings"

	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

// A trunk's codec preferences (PATCH /v1/sip/config codecs) shape the SDP
// offer of its outbound calls: enabled codecs in the configured order
// first, codecs not listed after them in the offer's own order, disabled
// ones left out (with their rtpmap and fmtp lines). telephone-event and
// comfort noise are never reordered away. An offer that would be left
// without an audio codec is sent unchanged: refusing the call is not the
// trunk's intent.

// staticPayloadNames are the RFC 3551 static payload types an offer may
// use without an rtpmap line.
var staticPayloadNames = map[string]string{"0": "PCMU", "3": "GSM", "4": "G723", "8": "PCMA", "9": "G722", "13": "CN", "18": "G729"}

// alwaysKept are never removed by a codec list.
var alwaysKept = []string{"TELEPHONE-EVENT", "CN"}

// ReorderCodecs applies codecs to the audio media of an SDP offer.
func ReorderCodecs(sdp []byte, codecs []store.CodecSetting) []byte {
	if len(codecs) == 0 {
		return sdp
	}
	eol := "\r\n"
	if !bytes.Contains(sdp, []byte("\r\n")) {
		eol = "\n"
	}
	lines := strings.Split(strings.TrimRight(string(sdp), "\r\n"), eol)
	mIdx := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "m=audio ") })
	if mIdx < 0 {
		return sdp
	}
	end := len(lines)
	for i := mIdx + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "m=") {
			end = i
			break
		}
	}
	names := map[string]string{} // payload type → upper-case encoding name
	for pt, n := range staticPayloadNames {
		names[pt] = n
	}
	for _, l := range lines[mIdx+1 : end] {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			pt, enc, _ := strings.Cut(rest, " ")
			name, _, _ := strings.Cut(enc, "/")
			names[pt] = strings.ToUpper(name)
		}
	}
	fields := strings.Fields(lines[mIdx])
	if len(fields) < 4 {
		return sdp
	}
	pts := fields[3:]
	rank := func(pt string) (int, bool) { // position in the list; false: disabled
		for i, c := range codecs {
			if strings.EqualFold(c.Name, names[pt]) {
				return i, c.Enabled
			}
		}
		return len(codecs), true
	}
	var kept, dropped []string
	audio := 0
	for _, pt := range pts {
		if _, on := rank(pt); on || slices.Contains(alwaysKept, names[pt]) {
			kept = append(kept, pt)
			if !slices.Contains(alwaysKept, names[pt]) {
				audio++
			}
		} else {
			dropped = append(dropped, pt)
		}
	}
	if audio == 0 {
		return sdp
	}
	slices.SortStableFunc(kept, func(a, b string) int {
		ra, _ := rank(a)
		rb, _ := rank(b)
		if slices.Contains(alwaysKept, names[a]) {
			ra = len(codecs) + 1
		}
		if slices.Contains(alwaysKept, names[b]) {
			rb = len(codecs) + 1
		}
		return ra - rb
	})
	out := slices.Clone(lines[:mIdx])
	out = append(out, strings.Join(append(fields[:3:3], kept...), " "))
	for _, l := range lines[mIdx+1 : end] {
		if slices.ContainsFunc(dropped, func(pt string) bool {
			return strings.HasPrefix(l, "a=rtpmap:"+pt+" ") || strings.HasPrefix(l, "a=fmtp:"+pt+" ")
		}) {
			continue
		}
		out = append(out, l)
	}
	out = append(out, lines[end:]...)
	return []byte(strings.Join(out, eol) + eol)
}

// AnswerCodecs applies codecs to the answer of the trunk's own INVITE, as
// ReorderCodecs does to its offers: enabled codecs in the configured order,
// then the codecs the list does not name in the server's order; disabled
// ones not at all. (Transcoding does not apply: no other leg exists yet.)
func AnswerCodecs(codecs []store.CodecSetting) media.CodecList {
	if len(codecs) == 0 {
		return nil
	}
	out := media.CodecList{}
	for _, c := range codecs {
		if c.Enabled {
			out = append(out, c.Name)
		}
	}
	for _, k := range KnownCodecs {
		if !slices.ContainsFunc(codecs, func(c store.CodecSetting) bool { return strings.EqualFold(c.Name, k) }) {
			out = append(out, k)
		}
	}
	return out
}
