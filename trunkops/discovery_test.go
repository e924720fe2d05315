package trunkops

import (
	"slices"
	"testing"
)

func TestDetectSystem(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"Asterisk PBX 18.0.0", "Asterisk"},
		{"FPBX-16.0.33(18.13.0)", "FPBX-16.0.33(18.13.0)"},
		{"FreePBX 16 Asterisk 18", "FreePBX"},
		{"FreeSWITCH-mod_sofia/1.10.9-release", "FreeSWITCH"},
		{"kamailio (5.7.4 (x86_64/linux))", "Kamailio"},
		{"OpenSIPS (3.4.2 (x86_64/linux))", "OpenSIPS"},
		{"3CXPhoneSystem 18.0.9.20 (20)", "3CX"},
		{"Cisco-SIPGateway/IOS-15.x", "Cisco"},
		{"sipp-trunk/3.6", "SIPp"},
		{"Acme/2.0 beta", "Acme"},
		{"", ""},
	} {
		if got := DetectSystem(c.header); got != c.want {
			t.Errorf("DetectSystem(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

func TestSDPCodecs(t *testing.T) {
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 0 RTP/AVP 9 0 8 18 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
	if got, want := SDPCodecs(sdp), []string{"G722", "PCMU", "PCMA", "G729", "telephone-event"}; !slices.Equal(got, want) {
		t.Errorf("SDPCodecs = %v, want %v", got, want)
	}
	if got := SDPCodecs(""); got != nil {
		t.Errorf("no SDP: %v", got)
	}
}

func TestRecommend(t *testing.T) {
	as := []DiscoveryAttempt{
		{Address: "192.0.2.1", Port: 5060, Transport: "udp", ResponseCode: 200, ResponseTime: 5},
		{Address: "192.0.2.1", Port: 5061, Transport: "tls", ResponseCode: 403, ResponseTime: 5},
		{Address: "192.0.2.1", Port: 5060, Transport: "tcp", ResponseCode: 200, ResponseTime: 9},
		{Address: "192.0.2.1", Port: 5080, Transport: "tcp", Error: "timeout"},
	}
	if r := recommend(as); r == nil || r.Port != 5060 || r.Transport != "tcp" {
		t.Errorf("recommend = %+v, want 5060 tcp (2xx, then TCP over UDP)", r)
	}
	as = append(as, DiscoveryAttempt{Address: "192.0.2.2", Port: 5070, Transport: "udp", FromSRV: true, ResponseCode: 200, ResponseTime: 50})
	if r := recommend(as); r == nil || r.Port != 5070 {
		t.Errorf("recommend = %+v, want the SRV record's 5070", r)
	}
	if r := recommend(as[3:4]); r != nil {
		t.Errorf("nothing answered: %+v", r)
	}
}
