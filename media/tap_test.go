package media

import (
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/media/g711"
)

// ListenReceived hands the listener what the remote sent, decoded, on the
// packet path; after stop it gets nothing more.
func TestListenReceived(t *testing.T) {
	m := newTestManager(t, nil)
	s := m.NewSession(SessionOptions{})
	defer s.Close()
	p := newPeer(t, false)
	l := p.answered(t, s, "callee", "0")
	got := make(chan int, 16)
	stop, ok := l.ListenReceived(func(pcm []int16) {
		select {
		case got <- energy(pcm):
		default:
		}
	})
	if !ok {
		t.Fatal("a PCMU leg cannot be listened to")
	}
	tone := sine(8000, 1, 0.02, 1000)
	p.send(0, true, g711.EncodeUlawBuf(nil, tone))
	select {
	case e := <-got:
		if want := energy(tone); e < want*9/10 || e > want*11/10 {
			t.Errorf("listener heard energy %d, sent %d", e, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the listener heard nothing")
	}
	stop()
	p.send(0, false, g711.EncodeUlawBuf(nil, tone))
	select {
	case <-got:
		t.Error("the listener heard a packet after stop")
	case <-time.After(200 * time.Millisecond):
	}
}
