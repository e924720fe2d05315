// Package media is the server's media plane: an RTP/RTCP relay with a port
// pool, SDP offer/answer (pion/sdp), SRTP with SDES keys (pion/srtp),
// symmetric RTP latching, codecs (G.711; G.722 in pure Go; Opus and G.729
// through libopus and libbcg729 loaded at run time) with pass-through
// between legs that share one and transcoding through PCM between legs that
// do not (PCMDecoder, PCMEncoder), RFC 4733 DTMF, and a media endpoint that
// plays, speaks, records and sends tones on a leg.
//
// It knows nothing about calls, accounts, SIP or HTTP. The call engine
// drives it:
//
//	m, _ := media.NewManager(media.Config{AdvertisedIP: ip})
//	s := m.NewSession(media.SessionOptions{Logger: callLog})
//	defer s.Close()
//	caller, _ := s.NewLeg("caller")
//	answer, err := caller.Answer(inviteSDP, media.AnswerOptions{})
//	// errors.Is(err, media.ErrNotAcceptable) -> 488
//	caller.Speak(ctx, "Welcome", media.Voice{Name: "julie"}, media.PlayOptions{})
//	callee, _ := s.NewLeg("callee")
//	offer, _ := callee.Offer(media.OfferOptions{Peer: caller})
//	// ... send INVITE with offer, get 200 OK ...
//	callee.SetAnswer(okSDP)
//	s.Bridge(caller, callee)
//
// Threading: each leg has two reader goroutines (RTP, RTCP) that do all
// relaying inline; each session one idle watcher; each recording one writer.
// Session.Close (or Leg.Close) stops them all before returning. What the
// endpoint sends (playback, tones, DTMF, silence, RTCP reports) goes out
// from the Manager's one media clock goroutine, which runs while any leg
// needs it.
package media
