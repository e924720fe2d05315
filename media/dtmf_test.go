package media

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// A peer sends digits the way real phones do (several packets per event,
// three end packets); each arrives exactly once.
func TestDTMFDetectedFromPeer(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0", "101 telephone-event/8000")
	digits, cancel := l.SubscribeDTMF()
	defer cancel()
	want := "19#*0D"
	ts := uint32(10000)
	for _, r := range want {
		code := byte(map[rune]int{'1': 1, '9': 9, '#': 11, '*': 10, '0': 0, 'D': 15}[r])
		for i := 1; i <= 4; i++ {
			p.sendTS(101, i == 1, ts, binary.BigEndian.AppendUint16([]byte{code, 10}, uint16(i*160)))
		}
		for i := 0; i < 3; i++ {
			p.sendTS(101, false, ts, []byte{code, 0x8a, 0x02, 0x80})
		}
		ts += 1600
	}
	var got []rune
	timeout := time.After(10 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-digits:
			got = append(got, ev.Digit)
			if ev.Duration != 80*time.Millisecond {
				t.Errorf("digit %q duration %v", ev.Digit, ev.Duration)
			}
		case <-timeout:
			t.Fatalf("got %q, want %q", string(got), want)
		}
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", string(got), want)
	}
	select {
	case ev := <-digits:
		t.Fatalf("extra digit %q (redundant end packets counted)", ev.Digit)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestDTMFDetectorLostEnd(t *testing.T) {
	var d dtmfDetector
	if _, n := d.feed(100, []byte{5, 10, 0, 160}); n != 0 {
		t.Fatal("digit reported before end")
	}
	// Next event starts; the previous one's end packets were all lost.
	evs, n := d.feed(900, []byte{6, 0x8a, 0, 160})
	if n != 2 || evs[0].Digit != '5' || evs[1].Digit != '6' {
		t.Fatalf("got %d events %v", n, evs)
	}
	if _, n := d.feed(900, []byte{6, 0x8a, 0, 160}); n != 0 {
		t.Fatal("redundant end reported")
	}
	if _, n := d.feed(900, []byte{16, 0x8a, 0, 160}); n != 0 {
		t.Fatal("non-DTMF event reported")
	}
}

// SendDTMF per BXML: the peer sees one event per digit, marker on its first
// packet, three end packets, timestamps distinct per event, pauses honoured.
func TestSendDTMF(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "caller", "0", "101 telephone-event/8000")
	if err := l.SendDTMF(context.Background(), "12x", 0, 0); !errors.Is(err, ErrBadDigits) {
		t.Fatalf("bad digit: %v", err)
	}
	start := time.Now()
	errc := testenv.Go(t, func(ctx context.Context) error {
		return l.SendDTMF(ctx, "4w#", 60*time.Millisecond, 60*time.Millisecond)
	})
	pkts, err := p.collect(errc)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Fatalf("'w' did not pause: %v", el)
	}
	var d dtmfDetector
	var got []rune
	events := map[uint32]int{}
	for _, pk := range pkts {
		if pk.PayloadType != 101 {
			t.Fatalf("PT %d", pk.PayloadType)
		}
		events[pk.Timestamp]++
		if evs, n := d.feed(pk.Timestamp, pk.Payload); n > 0 {
			for _, ev := range evs[:n] {
				got = append(got, ev.Digit)
			}
		}
	}
	if string(got) != "4#" || len(events) != 2 {
		t.Fatalf("peer decoded %q over %d events", string(got), len(events))
	}
	if !pkts[0].Marker || pkts[1].Marker {
		t.Fatal("marker must be on the first packet of the event only")
	}
	// 3 tone packets (60 ms) + 3 end packets per digit.
	for ts, n := range events {
		if n != 6 {
			t.Fatalf("event at ts %d has %d packets, want 6", ts, n)
		}
	}
}
