package media

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// A trunk's codec list restricts and orders what a leg offers and answers.
func TestCodecList(t *testing.T) {
	s := newTestManager(t, nil).NewSession(SessionOptions{})
	defer s.Close()
	mline := func(l *Leg, formats string) []byte {
		return []byte("m=audio " + strconv.Itoa(l.Port()) + " RTP/AVP " + formats + "\r\n")
	}

	out, _ := s.NewLeg("out")
	off, err := out.Offer(OfferOptions{Codecs: CodecList{"g722", "PCMU"}})
	if err != nil || !bytes.Contains(off, mline(out, "9 0 101")) {
		t.Fatalf("offer restricted to G.722, PCMU: %v\n%s", err, off)
	}
	// The peer's PCMA is left out when the list does not allow it.
	pcma := newPeer(t, false).answered(t, s, "pcma", "8")
	out2, _ := s.NewLeg("out2")
	off, err = out2.Offer(OfferOptions{Peer: pcma, Codecs: CodecList{"G722", "PCMU"}})
	if err != nil || !bytes.Contains(off, mline(out2, "9 0 101")) {
		t.Fatalf("offer with a PCMA peer: %v\n%s", err, off)
	}
	if _, err := out2.Offer(OfferOptions{Codecs: CodecList{}}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("empty list: %v", err)
	}
	// Without transcoding, only what the PCMA peer passes through: PCMA
	// itself and PCMU (converted byte by byte), whatever the list prefers.
	off, err = out2.Offer(OfferOptions{Peer: pcma, NoTranscode: true})
	if err != nil || !bytes.Contains(off, mline(out2, "8 0 101")) {
		t.Fatalf("offer without transcoding: %v\n%s", err, off)
	}
	if _, err := out2.Offer(OfferOptions{Peer: pcma, NoTranscode: true, Codecs: CodecList{"G722"}}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("G.722-only list without transcoding: %v", err)
	}

	x := newPeer(t, false)
	for _, tc := range []struct {
		list CodecList
		want string
	}{
		{nil, "PCMU"},                       // the offer's order
		{CodecList{"PCMA", "G722"}, "PCMA"}, // ours
		{CodecList{"G722"}, "G722"},
	} {
		l, _ := s.NewLeg("in")
		if _, err := l.Answer(x.offer("0", "8", "9"), AnswerOptions{Codecs: tc.list}); err != nil {
			t.Fatal(err)
		}
		if c, _ := l.Codec(); c.Name != tc.want {
			t.Errorf("list %v chose %s, want %s", tc.list, c.Name, tc.want)
		}
		l.Close()
	}
	l, _ := s.NewLeg("in")
	if _, err := l.Answer(x.offer("0"), AnswerOptions{Codecs: CodecList{"G722"}}); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("PCMU offer to a G.722-only list: %v", err)
	}

	if err := (CodecList{"PCMU", "opus"}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (CodecList{"iLBC"}).Validate(); err == nil {
		t.Error("iLBC validated")
	}
	if err := (CodecList{"PCMU", "pcmu"}).Validate(); err == nil {
		t.Error("a codec twice validated")
	}
}
