package media

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// AnswerOptions tune Leg.Answer.
type AnswerOptions struct {
	// Peer is the leg this one will be bridged to, if it is already
	// negotiated: its codec is preferred (no transcoding), and accepted even
	// when this server cannot transcode it (passed through untouched).
	Peer *Leg
	// Codecs restricts the answer to these codecs and prefers them in this
	// order over the offer's (the peer's codec still comes first); nil
	// takes the offer's first codec the server can transcode.
	Codecs CodecList
}

// OfferOptions tune Leg.Offer.
type OfferOptions struct {
	// SRTP offers RTP/SAVP with an SDES AES_CM_128_HMAC_SHA1_80 key.
	SRTP bool
	// Peer is the leg this one will be bridged to: its negotiated codec is
	// offered first, so the answerer can pick it and avoid transcoding.
	Peer *Leg
	// PeerOffer is the other leg's pending remote offer (B2BUA forwarding
	// before that leg is answered): its codecs, Opus and others included,
	// are offered in its order, so a format both remotes share is passed
	// through. Answer that leg afterwards with AnswerOptions.Peer set to
	// this one. Ignored when Peer is negotiated.
	PeerOffer []byte
	// Codecs restricts the offer to these codecs, in this order after the
	// peer's (when the list has it); nil offers every codec the server has.
	Codecs CodecList
	// NoTranscode offers only codecs a negotiated Peer passes through
	// without transcoding (its own format; μ-law and A-law, converted byte
	// by byte, count as one).
	NoTranscode bool
}

// Answer takes the remote offer for this leg and returns our SDP answer: the
// advertised IP and this leg's port, the chosen codec plus telephone-event,
// and an a=crypto line of our own when the offer is RTP/SAVP. Errors wrap
// ErrNotAcceptable (488); ErrNoCommonCodec when no codec fits. Calling it
// again with a re-INVITE offer renegotiates.
func (l *Leg) Answer(offer []byte, opts AnswerOptions) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	rm, err := parseRemote(offer)
	if err != nil {
		return nil, err
	}
	allowed, prefer := peerCodecs(opts.Peer)
	accept := func(c Codec) bool {
		return opts.Codecs.allows(c) && (c.Transcodable() || allowed != nil && allowed(c))
	}
	neg, err := choose(opts.Codecs.order(rm.codecs), accept, prefer)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var local *sdesKey
	var sc *srtpContexts
	if rm.secure {
		if len(rm.cryptos) == 0 {
			return nil, notAcceptable(ErrNoCommonCodec, "RTP/SAVP offer without a supported %s a=crypto line", sdesSuite)
		}
		remote := rm.cryptos[0]
		if l.localKey == nil || l.localKey.tag != remote.tag {
			k, err := newSDESKey(remote.tag)
			if err != nil {
				return nil, err
			}
			l.localKey = &k
		}
		local = l.localKey
		if sc, err = l.contextsFor(remote); err != nil {
			return nil, err
		}
	} else {
		l.localKey, l.remoteKey = nil, nil
	}
	l.setRemote(rm)
	l.install(neg, sc)
	l.sdpVer++
	ours := neg.audio
	for _, c := range []Codec{CodecOpus, CodecG729} {
		if ours.sameFormat(c) {
			ours.Fmtp = c.Fmtp // what we want to receive and send, not the offer's wishes
		}
	}
	codecs := []Codec{ours}
	if neg.hasDTMF {
		codecs = append(codecs, neg.dtmf)
	}
	return localDesc{
		sessID: l.sessID, version: l.sdpVer, ip: l.s.m.cfg.AdvertisedIP, port: l.port,
		proto: rm.proto, codecs: codecs, dir: answerDirection(rm.dir), crypto: local,
		rejected: rm.mLines, mIndex: rm.mIndex,
	}.render()
}

// Offer returns an SDP offer for an outbound leg: PCMU, PCMA, G722, Opus
// and G729 (when libopus and libbcg729 are loaded) and telephone-event in the 8 kHz and, with Opus,
// 48 kHz clocks; the peer's codec (or its pending offer's codecs) first,
// over RTP/SAVP with a fresh key when opts.SRTP. Feed the remote answer to
// SetAnswer.
func (l *Leg) Offer(opts OfferOptions) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	var codecs []Codec
	_, prefer := peerCodecs(opts.Peer)
	if prefer != nil {
		codecs = append(codecs, *prefer)
	} else if opts.PeerOffer != nil {
		rm, err := parseRemote(opts.PeerOffer)
		if err != nil {
			return nil, err
		}
		for _, c := range rm.codecs {
			if !c.isTelephoneEvent() && !strings.EqualFold(c.Name, "CN") && !hasFormat(codecs, c) {
				codecs = append(codecs, c)
			}
		}
	}
	codecs = slices.DeleteFunc(codecs, func(c Codec) bool { return !opts.Codecs.allows(c) })
	for _, c := range opts.Codecs.defaults() {
		if !hasFormat(codecs, c) {
			c.PayloadType = freePT(codecs, c.PayloadType)
			codecs = append(codecs, c)
		}
	}
	if opts.NoTranscode && prefer != nil {
		codecs = slices.DeleteFunc(codecs, func(c Codec) bool { return needTranscode(*prefer, c) })
		if len(codecs) == 0 {
			return nil, fmt.Errorf("%w: transcoding is off and the codec list %v leaves out the peer's %s", ErrNoCommonCodec, opts.Codecs, prefer.Name)
		}
	}
	if len(codecs) == 0 {
		return nil, fmt.Errorf("%w: the codec list %v leaves nothing to offer", ErrNoCommonCodec, opts.Codecs)
	}
	events := []Codec{CodecTelephoneEvent}
	if hasFormat(codecs, CodecOpus) {
		events = append(events, CodecTelephoneEvent48k)
	}
	for _, te := range events {
		te.PayloadType = freePT(codecs, te.PayloadType)
		codecs = append(codecs, te)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	proto := "RTP/AVP"
	var key *sdesKey
	if opts.SRTP {
		proto = "RTP/SAVP"
		if l.localKey == nil {
			k, err := newSDESKey(1)
			if err != nil {
				return nil, err
			}
			l.localKey = &k
		}
		key = l.localKey
	}
	l.offered, l.offerSRTP = codecs, opts.SRTP
	l.sdpVer++
	return localDesc{
		sessID: l.sessID, version: l.sdpVer, ip: l.s.m.cfg.AdvertisedIP, port: l.port,
		proto: proto, codecs: codecs, dir: "sendrecv", crypto: key,
	}.render()
}

// SetAnswer applies the remote answer to our Offer. Errors wrap
// ErrNotAcceptable.
func (l *Leg) SetAnswer(answer []byte) error {
	if l.closed.Load() {
		return ErrClosed
	}
	rm, err := parseRemote(answer)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.offered == nil {
		return fmt.Errorf("media: SetAnswer on leg %s without an Offer", l.name)
	}
	offered := l.offered
	neg, err := choose(rm.codecs, func(c Codec) bool { return hasFormat(offered, c) }, &offered[0])
	if err != nil {
		return err
	}
	var sc *srtpContexts
	switch {
	case l.offerSRTP && !rm.secure:
		return notAcceptable(ErrNoCommonCodec, "answer to an RTP/SAVP offer uses %s", rm.proto)
	case !l.offerSRTP && rm.secure:
		return notAcceptable(ErrNoCommonCodec, "answer to an RTP/AVP offer uses %s", rm.proto)
	case rm.secure:
		if len(rm.cryptos) == 0 {
			return notAcceptable(ErrNoCommonCodec, "answer has no supported a=crypto line")
		}
		if sc, err = l.contextsFor(rm.cryptos[0]); err != nil {
			return err
		}
	}
	l.setRemote(rm)
	l.install(neg, sc)
	return nil
}

// contextsFor returns SRTP contexts for the remote key, reusing the current
// ones when neither key changed so rollover counters and replay windows
// survive a re-INVITE (l.mu held).
func (l *Leg) contextsFor(remote sdesKey) (*srtpContexts, error) {
	if cur := l.st.Load(); cur != nil && cur.srtp != nil && l.remoteKey != nil &&
		bytes.Equal(l.remoteKey.key, remote.key) && bytes.Equal(l.remoteKey.salt, remote.salt) {
		return cur.srtp, nil
	}
	sc, err := newSRTPContexts(*l.localKey, remote)
	if err != nil {
		return nil, err
	}
	l.remoteKey = &remote
	return sc, nil
}

func (l *Leg) install(neg negotiated, sc *srtpContexts) {
	l.st.Store(&legState{neg: neg, srtp: sc})
	l.log.Debug("media negotiated", "codec", neg.audio.Name, "pt", neg.audio.PayloadType, "dtmf", neg.hasDTMF, "srtp", sc != nil)
}

// peerCodecs returns what the peer leg allows: only its negotiated codec
// beyond G.711, and that codec as the preference.
func peerCodecs(peer *Leg) (func(Codec) bool, *Codec) {
	if peer == nil {
		return nil, nil
	}
	ps := peer.st.Load()
	if ps == nil {
		return nil, nil
	}
	c := ps.neg.audio
	return func(o Codec) bool { return o.sameFormat(c) }, &c
}

// offerCodecs is what an offer lists after the peer's codecs: G.711 first
// (the PSTN's, passed through without decoding), then the wideband ones.
func offerCodecs() []Codec {
	c := []Codec{CodecPCMU, CodecPCMA, CodecG722}
	for _, o := range []Codec{CodecOpus, CodecG729} {
		if o.Transcodable() {
			c = append(c, o)
		}
	}
	return c
}

func hasFormat(codecs []Codec, c Codec) bool {
	for _, o := range codecs {
		if o.sameFormat(c) {
			return true
		}
	}
	return false
}

// freePT returns want if no codec uses it, else the first free dynamic type.
func freePT(codecs []Codec, want uint8) uint8 {
	used := func(pt uint8) bool {
		for _, c := range codecs {
			if c.PayloadType == pt {
				return true
			}
		}
		return false
	}
	if !used(want) {
		return want
	}
	for pt := uint8(96); pt < 128; pt++ {
		if !used(pt) {
			return pt
		}
	}
	return want
}
