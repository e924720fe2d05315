package calls

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
)

// A trunk's codec settings order the answer to its own INVITE: the
// preferred codec of the offer's, not the offer's first; an offer of only
// codecs the settings leave out is answered as without them.
func TestTrunkCodecsOrderTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs media.CodecList
		want   string // the answer's m= line payload types
	}{
		{"no settings: the offer's first", nil, "0 101"},
		{"PCMA preferred", media.CodecList{"PCMA", "PCMU"}, "8 101"},
		{"only codecs the offer lacks", media.CodecList{"G722"}, "0 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			b.trunks.codecs = tc.codecs
			b.source.answer(bxml.EventInitiate, `<Response><Pause duration="10"/></Response>`)
			leg := newFakeInbound()
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			req := sipgo.NewRequest(sipgo.INVITE, sipgo.Uri{User: "+14155550100", Host: "sip.test"})
			req.AppendHeader(&sipgo.FromHeader{Address: sipgo.Uri{User: "+15550001111", Host: "carrier.test"}, Params: sipgo.NewParams()})
			req.AppendHeader(&sipgo.ToHeader{Address: sipgo.Uri{User: "+14155550100", Host: "sip.test"}, Params: sipgo.NewParams()})
			req.SetBody(fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
				"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
				c.LocalAddr().(*net.UDPAddr).Port))
			inv := Invite{Invite: callflow.Invite{Request: req, Source: netip.MustParseAddrPort("127.0.0.1:5062")},
				ApplicationID: b.app.ID, CallID: "sip-trunk-1",
				Number: &sip.NumberRoute{ID: "cfg-1", TrunkID: "trunk-1", Number: "+14155550100"}}
			b.run(leg, inv)
			select {
			case <-leg.answered:
			case <-time.After(10 * time.Second):
				t.Fatal("the call was not answered")
			}
			leg.mu.Lock()
			answer := string(leg.answerSDP)
			leg.mu.Unlock()
			if !strings.Contains(answer, " RTP/AVP "+tc.want+"\r\n") {
				t.Errorf("answer:\n%s\nwant payload types %s", answer, tc.want)
			}
		})
	}
}
