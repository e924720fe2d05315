package bxml

import (
	"context"
	"errors"
	"testing"
)

// forkCall is a fakeCall that runs streams and transcriptions.
type forkCall struct{ *fakeCall }

func (f forkCall) StartStream(_ context.Context, s *StartStream) error {
	return f.record("StartStream:%s:%s:%s:%s:%d", s.Name, s.Mode, s.Tracks, s.DestinationUsername, len(s.Params))
}
func (f forkCall) StopStream(_ context.Context, s *StopStream) error {
	return f.record("StopStream:%s:%t", s.Name, s.Wait)
}
func (f forkCall) StartTranscription(_ context.Context, t *StartTranscription) error {
	return f.record("StartTranscription:%s:%s:%t:%d", t.Name, t.Tracks, t.Stabilized, len(t.Params))
}
func (f forkCall) StopTranscription(_ context.Context, t *StopTranscription) error {
	return f.record("StopTranscription:%s", t.Name)
}

// Stream and transcription verbs answer the call, run beside the next
// verbs (they return at once) and reach the call with their attributes; a
// Call without Forks refuses them as not available.
func TestRunForks(t *testing.T) {
	doc := mustParse(t, `<Response>
<StartStream name="agent" mode="bidirectional" tracks="both" destination="wss://ai.example/ws" destinationUsername="u" destinationPassword="p" streamEventUrl="/ev">
  <StreamParam name="a" value="1"/><StreamParam name="b" value="2"/>
</StartStream>
<StartTranscription name="live" tracks="inbound" stabilized="false"><CustomParam name="x" value="y"/></StartTranscription>
<Pause duration="0"/>
<StopTranscription name="live"/>
<StopStream name="agent" wait="true"/>
</Response>`)
	c := forkCall{newFakeCall()}
	if _, err := Run(testCtx(t), doc, c); err != nil {
		t.Fatal(err)
	}
	want := []string{"answer", "StartStream:agent:bidirectional:both:u:2", "StartTranscription:live:inbound:false:1",
		"StopTranscription:live", "StopStream:agent:true"}
	got := c.Log()
	if len(got) != len(want) {
		t.Fatalf("log %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("log[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	ss := findVerb[*StartStream](t, doc)
	if tg := ss.StreamEventTarget(); tg.URL != "/ev" {
		t.Errorf("stream event target %+v", tg)
	}
	if tr := StreamTracks(ss.Tracks); len(tr) != 2 || tr[0] != "inbound" || tr[1] != "outbound" {
		t.Errorf("tracks %v", tr)
	}

	_, err := Run(testCtx(t), mustParse(t, `<Response><StopStream name="x"/></Response>`), newFakeCall())
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("a Call without Forks: %v", err)
	}
}
