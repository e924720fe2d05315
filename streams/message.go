package streams

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// The messages of a media stream, as Bandwidth documents them: the server
// sends start, then media for each 20 ms of each track, then stop; on a
// bidirectional stream the remote sends playAudio (and clear) back.

// Tracks, named from the server's side: inbound is what the caller sent,
// outbound what the server sent the caller.
const (
	TrackInbound  = "inbound"
	TrackOutbound = "outbound"
)

// MediaFormat is how a track's audio is encoded in media messages.
type MediaFormat struct {
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sampleRate"`
}

// TrackInfo names a track and its format in the start message.
type TrackInfo struct {
	Name        string      `json:"name"`
	MediaFormat MediaFormat `json:"mediaFormat"`
}

// Metadata describes the stream in its start and stop messages.
type Metadata struct {
	AccountID  string      `json:"accountId"`
	CallID     string      `json:"callId"`
	StreamID   string      `json:"streamId"`
	StreamName string      `json:"streamName"`
	Tracks     []TrackInfo `json:"tracks"`
}

// Control is a start or stop message.
type Control struct {
	EventType    string            `json:"eventType"`
	Metadata     Metadata          `json:"metadata"`
	StreamParams map[string]string `json:"streamParams,omitempty"`
}

// pcmuFormat is the only format streams send: 8 kHz μ-law.
var pcmuFormat = MediaFormat{Encoding: "audio/PCMU", SampleRate: 8000}

// appendMedia appends the media message for one frame: pcm encoded as
// PCMU, base64. It is hand-written (no reflection, no allocation with a
// buffer of the right size) because it runs for every packet of every
// stream. timestamp is the track's position in milliseconds.
func appendMedia(dst []byte, track string, seq uint64, timestamp uint64, pcm []int16) []byte {
	var raw [media160]byte
	ulaw := g711.EncodeUlawBuf(raw[:0], pcm)
	dst = append(dst, `{"eventType":"media","track":"`...)
	dst = append(dst, track...)
	dst = append(dst, `","sequenceNumber":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendUint(dst, timestamp, 10)
	dst = append(dst, `,"payload":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, ulaw)
	return append(dst, `"}`...)
}

// media160 is one 20 ms frame of 8 kHz audio.
const media160 = 160

// mediaMessageSize is the size of a media message for one frame, for
// pooled buffers.
const mediaMessageSize = 128 + (media160+2)/3*4

// inbound is a message the remote sends on a bidirectional stream.
type inbound struct {
	EventType string `json:"eventType"`
	Media     struct {
		ContentType string `json:"contentType"`
		Payload     string `json:"payload"`
	} `json:"media"`
}

// errBadMessage is a message from the remote we cannot use; the stream
// logs and counts it, and goes on.
var errBadMessage = errors.New("unusable message")

// decodeInbound parses a message the remote sent. For playAudio it returns
// the audio as 8 kHz PCM; clear is true for a clear message.
func decodeInbound(b []byte) (pcm []int16, clear bool, err error) {
	var m inbound
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	switch m.EventType {
	case "clear":
		return nil, true, nil
	case "playAudio":
	default:
		return nil, false, fmt.Errorf("%w: eventType %q", errBadMessage, m.EventType)
	}
	raw, err := base64.StdEncoding.DecodeString(m.Media.Payload)
	if err != nil {
		return nil, false, fmt.Errorf("%w: payload: %w", errBadMessage, err)
	}
	return decodeAudio(m.Media.ContentType, raw)
}

// decodeAudio turns a playAudio payload into 8 kHz PCM. Content types:
// audio/pcmu (the default), and Bandwidth's 16-bit little-endian linear
// audio/pcm;rate=8000|16000|24000 (resampled to 8 kHz).
func decodeAudio(contentType string, raw []byte) ([]int16, bool, error) {
	typ, params, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(contentType, " ", "")), ";")
	switch typ {
	case "", "audio/pcmu", "audio/x-mulaw", "audio/basic":
		pcm := make([]int16, len(raw))
		for i, b := range raw {
			pcm[i] = g711.DecodeUlaw(b)
		}
		return pcm, false, nil
	case "audio/pcm", "audio/l16", "audio/x-l16":
		rate := 8000
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(p, "rate="); ok {
				r, err := strconv.Atoi(v)
				if err != nil || (r != 8000 && r != 16000 && r != 24000) {
					return nil, false, fmt.Errorf("%w: rate %q (8000, 16000 or 24000)", errBadMessage, v)
				}
				rate = r
			}
		}
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		return media.Resample(pcm, rate, 8000), false, nil
	}
	return nil, false, fmt.Errorf("%w: contentType %q", errBadMessage, contentType)
}
