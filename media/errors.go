package media

import "errors"

// Sentinel errors the call engine branches on. Everything else is wrapped with
// context around one of these or a lower-level error.
var (
	// ErrNotAcceptable is wrapped by every SDP negotiation failure the SIP
	// side answers with 488 Not Acceptable Here.
	ErrNotAcceptable = errors.New("media: session description not acceptable")
	// ErrNoCommonCodec means the offer had no codec we can use (also matches
	// ErrNotAcceptable).
	ErrNoCommonCodec = errors.New("media: no usable codec in offer")
	// ErrBadSDP means the description could not be parsed (also matches
	// ErrNotAcceptable).
	ErrBadSDP = errors.New("media: malformed session description")
	// ErrPortsExhausted means the port pool has no free RTP/RTCP pair.
	ErrPortsExhausted = errors.New("media: no free RTP port")
	// ErrClosed is returned by operations on a closed session or leg.
	ErrClosed = errors.New("media: closed")
	// ErrBridged is returned by endpoint operations (play, speak, tones, DTMF
	// send) on a leg that is bridged; Unbridge it first. Recording and DTMF
	// detection work while bridged.
	ErrBridged = errors.New("media: leg is bridged")
	// ErrIncompatibleCodecs means two legs cannot be bridged: their codecs
	// differ and one of them cannot be transcoded.
	ErrIncompatibleCodecs = errors.New("media: legs have incompatible codecs")
	// ErrNotNegotiated means the leg has no remote description yet.
	ErrNotNegotiated = errors.New("media: leg has no negotiated media")
	// ErrCodecUnsupported means the endpoint cannot produce or decode audio in
	// the leg's codec (G.711, G.722 and Opus with libopus are encoded
	// locally; others are relayed only).
	ErrCodecUnsupported = errors.New("media: endpoint cannot encode the leg's codec")
	// ErrTTSUnavailable means espeak-ng is not installed; Speak never
	// substitutes silence.
	ErrTTSUnavailable = errors.New("media: text-to-speech unavailable (espeak-ng not on PATH)")
	// ErrInterrupted is returned by Play/Speak/tones stopped by a DTMF digit
	// (PlayOptions.StopOnDTMF).
	ErrInterrupted = errors.New("media: playback interrupted by DTMF")
	// ErrUnsupportedAudio means a play source is neither WAV nor MP3, or its
	// encoding is not supported.
	ErrUnsupportedAudio = errors.New("media: unsupported audio source")
	// ErrBadDigits means a SendDTMF string holds a character outside 0-9*#ABCDwW.
	ErrBadDigits = errors.New("media: invalid DTMF digit")
)
