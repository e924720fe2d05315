package media

import (
	"errors"
	"fmt"
)

// Bridge relays media between a and b in both directions. The legs may
// belong to different sessions (BXML <Bridge> joins two calls); closing
// either leg or its session unbridges both. Legs with the same format pass
// packets through untouched, G.711 legs convert μ-law↔A-law per packet, and
// legs that share no codec are transcoded through 8 kHz PCM when both codecs
// are Transcodable (G.711, G.722, Opus). A leg already bridged elsewhere is
// unbridged first.
func Bridge(a, b *Leg) error {
	if a == nil || b == nil || a == b {
		return errors.New("media: Bridge needs two different legs")
	}
	as, bs := a.st.Load(), b.st.Load()
	if as == nil || bs == nil {
		return ErrNotNegotiated
	}
	ac, bc := as.neg.audio, bs.neg.audio
	if needTranscode(ac, bc) && !(ac.Transcodable() && bc.Transcodable()) {
		return fmt.Errorf("%w: %s and %s", ErrIncompatibleCodecs, as.neg.audio.Name, bs.neg.audio.Name)
	}
	if a.closed.Load() || b.closed.Load() {
		return ErrClosed
	}
	a.unbridge()
	b.unbridge()
	a.peer.Store(b)
	b.peer.Store(a)
	a.log.Debug("legs bridged", "peer", b.name, "codec", ac.Name, "peerCodec", bc.Name, "transcoding", needTranscode(ac, bc))
	return nil
}

// Unbridge stops relaying for l and its peer; both return to the endpoint.
// It is a no-op on a leg that is not bridged.
func Unbridge(l *Leg) { l.unbridge() }
