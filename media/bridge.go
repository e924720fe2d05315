package media

import (
	"errors"
	"fmt"
)

// Bridge relays media between a and b in both directions. The legs may
// belong to different sessions (BXML <Bridge> joins two calls); closing
// either leg or its session unbridges both. Codecs must be the same format
// or both G.711 (μ-law↔A-law converted per packet). A leg already bridged
// elsewhere is unbridged first.
func Bridge(a, b *Leg) error {
	if a == nil || b == nil || a == b {
		return errors.New("media: Bridge needs two different legs")
	}
	as, bs := a.st.Load(), b.st.Load()
	if as == nil || bs == nil {
		return ErrNotNegotiated
	}
	if !as.neg.audio.sameFormat(bs.neg.audio) && !(as.neg.audio.isG711() && bs.neg.audio.isG711()) {
		return fmt.Errorf("%w: %s and %s", ErrIncompatibleCodecs, as.neg.audio.Name, bs.neg.audio.Name)
	}
	if a.closed.Load() || b.closed.Load() {
		return ErrClosed
	}
	a.unbridge()
	b.unbridge()
	a.peer.Store(b)
	b.peer.Store(a)
	a.log.Debug("legs bridged", "peer", b.name, "codec", as.neg.audio.Name, "peerCodec", bs.neg.audio.Name)
	return nil
}

// Unbridge stops relaying for l and its peer; both return to the endpoint.
// It is a no-op on a leg that is not bridged.
func Unbridge(l *Leg) { l.unbridge() }
