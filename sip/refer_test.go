package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestReferBothWays: a REFER in either direction of a call is handed to the
// receiving leg's hook, accepted with 202 and reported with NOTIFY sipfrag
// (100 Trying, then the final status) that the sender's ReferProgress reads;
// a refused REFER is a *DialError with the hook's status, and a leg without
// a hook declines.
func TestReferBothWays(t *testing.T) {
	engine := newTestEngine(true)
	_, addrs := startServer(t, testConfig(), engine)
	caller := newCaller(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := caller.Dial(ctx, DialRequest{URI: "sip:" + appIPOnly + "@" + addrs["udp"], SDP: []byte(testSDP)})
	if err != nil {
		t.Fatal(err)
	}
	call := engine.waitCall(t)

	// The caller's leg has no hook yet: the server's REFER is declined.
	if _, err := call.Refer(ctx, "sip:carol@127.0.0.1", nil); !isDialStatus(err, 603) {
		t.Fatalf("REFER to a leg without hook: %v, want 603", err)
	}

	// The hooks' final NOTIFYs report here, and the test waits for them: the
	// server's context, which they run under, is cancelled in cleanup.
	finals := make(chan error, 2)
	seen := make(chan *Refer, 1)
	call.OnRefer(func(ctx context.Context, r *Refer) {
		seen <- r
		if r.Target == "sip:blocked@127.0.0.1" {
			r.Reject(403, "Forbidden")
			return
		}
		if err := r.Accept(ctx); err != nil {
			t.Errorf("accept: %v", err)
		}
		go func() { finals <- r.Notify(ctx, 200, "OK") }()
	})
	p, err := out.Refer(ctx, "sip:bob@127.0.0.1:5090?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2", []Header{{Name: "X-Case", Value: "42"}})
	if err != nil {
		t.Fatal(err)
	}
	status, reason, err := p.Wait(ctx)
	if err != nil || status != 200 || reason != "OK" {
		t.Fatalf("progress: %d %q %v", status, reason, err)
	}
	r := <-seen
	if r.Target != "sip:bob@127.0.0.1:5090" || r.Replaces == nil || *r.Replaces != (Replaces{CallID: "abc@host", ToTag: "1", FromTag: "2"}) ||
		len(r.XHeaders) != 1 || r.XHeaders[0].Value != "42" || r.ReferredBy == "" {
		t.Fatalf("refer seen: %+v %+v", r, r.Replaces)
	}
	if _, err := out.Refer(ctx, "sip:blocked@127.0.0.1", nil); !isDialStatus(err, 403) {
		t.Fatalf("refused REFER: %v", err)
	}
	<-seen

	// The other way round: the server refers the caller.
	out.OnRefer(func(ctx context.Context, r *Refer) {
		if err := r.Accept(ctx); err != nil {
			t.Errorf("accept: %v", err)
		}
		go func() { finals <- r.Notify(ctx, 486, "Busy Here") }()
	})
	p, err = call.Refer(ctx, "sip:dave@127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := p.Wait(ctx); err != nil || status != 486 {
		t.Fatalf("progress: %d %v", status, err)
	}
	for range 2 {
		if err := <-finals; err != nil {
			t.Errorf("final NOTIFY: %v", err)
		}
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, call.Done(), "call")
}

func isDialStatus(err error, status int) bool {
	var de *DialError
	return errors.As(err, &de) && de.Status == status
}

func TestParseRefer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<sip:bob@example.com>", "sip:bob@example.com"},
		{"sip:bob@example.com;x=1", "sip:bob@example.com"},
		{`"Bob" <sips:bob@example.com:5061;transport=tls>`, "sips:bob@example.com:5061;transport=tls"},
		{"<mailto:bob@example.com>", ""},
		{"<sip:bob@example.com?Replaces=x>", ""},
		{"<sip:bob@example.com", ""},
	} {
		req := newRequestWith("Refer-To", tc.in)
		r, err := parseRefer(req)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: parsed as %q, want an error", tc.in, r.Target)
		case tc.want != "" && (err != nil || r.Target != tc.want):
			t.Errorf("%q: %v %v", tc.in, r, err)
		}
	}
	for _, body := range []string{"SIP/2.0 200 OK\r\n", "SIP/2.0 100 Trying"} {
		if _, _, ok := parseSipfrag([]byte(body)); !ok {
			t.Errorf("sipfrag %q refused", body)
		}
	}
	for _, body := range []string{"", "HTTP/1.1 200 OK", "SIP/2.0 99 x", "SIP/2.0 abc"} {
		if _, _, ok := parseSipfrag([]byte(body)); ok {
			t.Errorf("sipfrag %q accepted", body)
		}
	}
}

func newRequestWith(name, value string) *sip.Request {
	req := sip.NewRequest(sip.REFER, sip.Uri{Scheme: "sip", User: "a", Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader(name, value))
	return req
}

// FuzzParseRefer: no Refer-To or sipfrag body makes the parsers panic, and
// what parseRefer accepts is a URI the dialer can parse again.
func FuzzParseRefer(f *testing.F) {
	for _, s := range []string{"<sip:bob@example.com>", "<sip:b@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>", "tel:+15551234567",
		"<sip:bob@example.com", "sip:a@b;x", "<>", "<sip:a@b?Replaces=%zz>"} {
		f.Add(s, "SIP/2.0 200 OK\r\n")
	}
	f.Fuzz(func(t *testing.T, referTo, frag string) {
		r, err := parseRefer(newRequestWith("Refer-To", referTo))
		if err == nil {
			var u sip.Uri
			if perr := sip.ParseUri(r.Target, &u); perr != nil {
				t.Fatalf("accepted %q as %q, which does not parse: %v", referTo, r.Target, perr)
			}
		}
		parseSipfrag([]byte(frag))
	})
}

func TestReplacesMatches(t *testing.T) {
	rep := &Replaces{CallID: "c1", ToTag: "ours", FromTag: "theirs"}
	for _, tc := range []struct {
		callID, local, remote string
		want                  bool
	}{
		{"c1", "ours", "theirs", true},
		{"c1", "theirs", "ours", true}, // either assignment of the tags
		{"c2", "ours", "theirs", false},
		{"c1", "ours", "other", false},
		{"c1", "", "theirs", false},
	} {
		if got := rep.Matches(tc.callID, tc.local, tc.remote); got != tc.want {
			t.Errorf("Matches(%q, %q, %q) = %v", tc.callID, tc.local, tc.remote, got)
		}
	}
}
