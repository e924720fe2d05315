package bxml

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// fakeCall records what the interpreter asks of it. Prompts can block until
// interrupted, and digits arrive on a channel, so tests drive timing by
// events rather than by sleeping.
type fakeCall struct {
	mu  sync.Mutex
	log []string

	digits       chan byte
	blockPrompts bool          // Speak/Play block until ctx ends
	speaking     chan struct{} // receives once per prompt start (if non-nil)
	recording    Recording
	transfer     TransferResult
	bridge       BridgeResult
	failOn       string // method name that returns errFake
	readErr      error  // ReadDigit fails with it when set
	answered     bool
}

var errFake = errors.New("fake failure")

func newFakeCall() *fakeCall { return &fakeCall{digits: make(chan byte, 64)} }

func (f *fakeCall) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fmt.Sprintf(format, args...)
	f.log = append(f.log, s)
	name, _, _ := strings.Cut(s, ":")
	if name == f.failOn {
		return errFake
	}
	return nil
}

func (f *fakeCall) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeCall) Answer(context.Context) error {
	f.mu.Lock()
	already := f.answered
	f.answered = true
	f.mu.Unlock()
	if already {
		return nil
	}
	return f.record("answer")
}

func (f *fakeCall) prompt(ctx context.Context, what string) error {
	if err := f.record("%s", what); err != nil {
		return err
	}
	if f.speaking != nil {
		f.speaking <- struct{}{}
	}
	if f.blockPrompts {
		<-ctx.Done()
		f.record("interrupted")
		return ctx.Err()
	}
	return nil
}

func (f *fakeCall) Speak(ctx context.Context, s *SpeakSentence) error {
	return f.prompt(ctx, "speak:"+s.PlainText())
}
func (f *fakeCall) Play(ctx context.Context, p *PlayAudio) error { return f.prompt(ctx, "play:"+p.URL) }
func (f *fakeCall) Ring(_ context.Context, d time.Duration) error {
	return f.record("ring:%v", d)
}
func (f *fakeCall) SendDTMF(_ context.Context, digits string, on, off time.Duration) error {
	return f.record("dtmf:%s/%v/%v", digits, on, off)
}
func (f *fakeCall) ReadDigit(ctx context.Context) (byte, error) {
	if f.readErr != nil {
		return 0, f.readErr
	}
	select {
	case d := <-f.digits:
		return d, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
func (f *fakeCall) DiscardDigits() {
	for {
		select {
		case <-f.digits:
		default:
			return
		}
	}
}
func (f *fakeCall) StartGather(_ context.Context, g *StartGather) error {
	return f.record("startGather:%s", g.DtmfTarget().URL)
}
func (f *fakeCall) StopGather(context.Context) error { return f.record("stopGather") }
func (f *fakeCall) Record(_ context.Context, r *Record) (Recording, error) {
	return f.recording, f.record("record:%v", r.MaxDuration)
}
func (f *fakeCall) StartRecording(_ context.Context, r *StartRecording) error {
	return f.record("startRecording:%s", r.FileFormat)
}
func (f *fakeCall) StopRecording(context.Context) error   { return f.record("stopRecording") }
func (f *fakeCall) PauseRecording(context.Context) error  { return f.record("pauseRecording") }
func (f *fakeCall) ResumeRecording(context.Context) error { return f.record("resumeRecording") }
func (f *fakeCall) Transfer(_ context.Context, t *Transfer) (TransferResult, error) {
	var to []string
	for _, x := range t.Targets {
		to = append(to, x.Address())
	}
	return f.transfer, f.record("transfer:%s", strings.Join(to, ","))
}
func (f *fakeCall) Bridge(_ context.Context, b *Bridge) (BridgeResult, error) {
	return f.bridge, f.record("bridge:%s", b.CallID)
}
func (f *fakeCall) Forward(_ context.Context, fw *Forward) error {
	return f.record("forward:%s", fw.To)
}
func (f *fakeCall) SetTag(tag string) { f.record("tag:%s", tag) }

var _ Call = (*fakeCall)(nil)

func mustParse(t *testing.T, s string) *Document {
	t.Helper()
	doc, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRunSequence(t *testing.T) {
	c := newFakeCall()
	doc := mustParse(t, `<Response>
		<Tag>first</Tag>
		<Ring duration="0.5" answerCall="false"/>
		<SpeakSentence>Hello</SpeakSentence>
		<PlayAudio>https://example.com/a.wav</PlayAudio>
		<Pause duration="0"/>
		<SendDtmf toneDuration="100" toneInterval="50">1w#</SendDtmf>
		<StartGather dtmfUrl="/dtmf" tag="sg"/>
		<StopGather/>
		<StartRecording fileFormat="mp3"/>
		<PauseRecording/>
		<ResumeRecording/>
		<StopRecording tag=""/>
		<Record maxDuration="10"/>
		<Transfer><SipUri>sip:bob@example.com</SipUri><PhoneNumber>+15551234567</PhoneNumber></Transfer>
		<Bridge>c-other</Bridge>
		<Hangup/>
		<SpeakSentence>never</SpeakSentence>
	</Response>`)
	out, err := Run(testCtx(t), doc, c)
	if err != nil {
		t.Fatal(err)
	}
	if out.Kind != OutcomeHangup || out.Verb != "Hangup" {
		t.Errorf("outcome = %+v", out)
	}
	want := []string{
		"tag:first", "ring:500ms", "answer", "speak:Hello", "play:https://example.com/a.wav",
		"dtmf:1/100ms/50ms", "dtmf:#/100ms/50ms", "tag:sg", "startGather:/dtmf", "stopGather", "startRecording:mp3",
		"pauseRecording", "resumeRecording", "tag:", "stopRecording", "record:10",
		"transfer:sip:bob@example.com,+15551234567", "bridge:c-other",
	}
	if got := c.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("log\n got %q\nwant %q", got, want)
	}
}

func TestRunAnswersOnlyForMedia(t *testing.T) {
	for _, doc := range []string{
		`<Response><Tag>x</Tag><Hangup/></Response>`,
		`<Response><Ring answerCall="false" duration="0.1"/><Hangup/></Response>`,
		`<Response><Forward to="+15551234567"/></Response>`,
		`<Response><Redirect redirectUrl="/r"/></Response>`,
	} {
		c := newFakeCall()
		if _, err := Run(testCtx(t), mustParse(t, doc), c); err != nil {
			t.Fatal(err)
		}
		if c.answered {
			t.Errorf("%s answered the call: %q", doc, c.Log())
		}
	}
	c := newFakeCall()
	out, err := Run(testCtx(t), mustParse(t, `<Response><Forward to="+15551234567"/><Hangup/></Response>`), c)
	if err != nil || out.Kind != OutcomeForwarded {
		t.Errorf("Forward: %+v %v", out, err)
	}
}

func TestRunEndOfDocument(t *testing.T) {
	out, err := Run(testCtx(t), mustParse(t, `<Response><SpeakSentence>hi</SpeakSentence></Response>`), newFakeCall())
	if err != nil || out.Kind != OutcomeEnd {
		t.Errorf("Run = %+v, %v", out, err)
	}
	out, err = Run(testCtx(t), NewResponse(), newFakeCall())
	if err != nil || out.Kind != OutcomeEnd {
		t.Errorf("empty Run = %+v, %v", out, err)
	}
	out, err = Run(testCtx(t), nil, newFakeCall())
	if err != nil || out.Kind != OutcomeEnd {
		t.Errorf("nil Run = %+v, %v", out, err)
	}
}

func TestRunUnsupportedFailsBeforeRunning(t *testing.T) {
	c := newFakeCall()
	_, err := Run(testCtx(t), mustParse(t, "<Response>\n<SpeakSentence>hi</SpeakSentence>\n<Connect><Endpoint>e-1</Endpoint></Connect></Response>"), c)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "unsupported verb Connect (not available yet) (line 3)" {
		t.Errorf("message = %q", err.Error())
	}
	if len(c.Log()) != 0 {
		t.Errorf("verbs ran: %q", c.Log())
	}
}

func TestRunCallbacks(t *testing.T) {
	rec := Recording{ID: "r-1", MediaURL: "http://x/media", StartTime: time.Unix(100, 0), EndTime: time.Unix(113, 670e6),
		Duration: 13670 * time.Millisecond, FileFormat: "wav", Channels: 1}
	tests := []struct {
		name   string
		doc    string
		setup  func(*fakeCall)
		target Target
		event  Event
	}{
		{
			name: "redirect",
			doc:  `<Response><Redirect redirectUrl="/next" redirectMethod="GET" redirectFallbackUrl="https://fb/next" username="u" password="p" fallbackUsername="fu" fallbackPassword="fp" tag="r"/><Hangup/></Response>`,
			target: Target{URL: "/next", Method: "GET", FallbackURL: "https://fb/next", FallbackMethod: "POST",
				Username: "u", Password: "p", FallbackUsername: "fu", FallbackPassword: "fp"},
			event: &RedirectEvent{},
		},
		{
			name:   "record",
			doc:    `<Response><Record recordCompleteUrl="/rc"/><Hangup/></Response>`,
			setup:  func(c *fakeCall) { c.recording = rec },
			target: Target{URL: "/rc", Method: "POST", FallbackMethod: "POST"},
			event: &RecordCompleteEvent{CallEvent: CallEvent{StartTime: At(rec.StartTime)}, RecordingID: "r-1", MediaURL: "http://x/media",
				EndTime: At(rec.EndTime), Duration: "PT13.67S", FileFormat: "wav", Channels: 1},
		},
		{
			name: "transfer",
			doc:  `<Response><Transfer transferCompleteUrl="/tc"><SipUri>sip:b@c</SipUri></Transfer><Hangup/></Response>`,
			setup: func(c *fakeCall) {
				c.transfer = TransferResult{Cause: "busy", TransferCallerID: "+1555", TransferTo: "sip:b@c"}
			},
			target: Target{URL: "/tc", Method: "POST", FallbackMethod: "POST"},
			event:  &TransferCompleteEvent{Cause: "busy", TransferCallerID: "+1555", TransferTo: "sip:b@c"},
		},
		{
			name:   "bridge",
			doc:    `<Response><Bridge bridgeCompleteUrl="/bc">c-2</Bridge><Hangup/></Response>`,
			setup:  func(c *fakeCall) { c.bridge = BridgeResult{Cause: "hangup"} },
			target: Target{URL: "/bc", Method: "POST", FallbackMethod: "POST"},
			event:  &BridgeCompleteEvent{Cause: "hangup"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCall()
			if tc.setup != nil {
				tc.setup(c)
			}
			out, err := Run(testCtx(t), mustParse(t, tc.doc), c)
			if err != nil {
				t.Fatal(err)
			}
			if out.Kind != OutcomeCallback {
				t.Fatalf("outcome = %+v", out)
			}
			if out.Target != tc.target {
				t.Errorf("target = %+v, want %+v", out.Target, tc.target)
			}
			if !reflect.DeepEqual(out.Event, tc.event) {
				t.Errorf("event = %+v, want %+v", out.Event, tc.event)
			}
		})
	}
}

func TestRunWithoutCallbackURLContinues(t *testing.T) {
	c := newFakeCall()
	doc := mustParse(t, `<Response><Record/><Transfer><SipUri>sip:a@b</SipUri></Transfer><Bridge>c-1</Bridge><Gather firstDigitTimeout="0"/><SpeakSentence>after</SpeakSentence></Response>`)
	out, err := Run(testCtx(t), doc, c)
	if err != nil || out.Kind != OutcomeEnd {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if log := c.Log(); log[len(log)-1] != "speak:after" {
		t.Errorf("log = %q", log)
	}
}

func TestRunCallError(t *testing.T) {
	c := newFakeCall()
	c.failOn = "play"
	_, err := Run(testCtx(t), mustParse(t, `<Response><PlayAudio>http://x/a.wav</PlayAudio><Hangup/></Response>`), c)
	if !errors.Is(err, errFake) || !strings.Contains(err.Error(), "PlayAudio") || errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestRunContextCancelled(t *testing.T) {
	c := newFakeCall()
	c.blockPrompts = true
	c.speaking = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(testCtx(t))
	testenv.Go(t, func(tctx context.Context) error {
		select {
		case <-c.speaking:
			cancel() // the caller hangs up mid-prompt
		case <-tctx.Done():
		}
		return nil
	})
	_, err := Run(ctx, mustParse(t, `<Response><SpeakSentence>long</SpeakSentence><Hangup/></Response>`), c)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestRunPauseHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	_, err := Run(ctx, mustParse(t, `<Response><Pause duration="3600"/></Response>`), newFakeCall())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestRunTagSticky(t *testing.T) {
	c := newFakeCall()
	doc := mustParse(t, `<Response><Tag>a</Tag><Gather tag="b" firstDigitTimeout="0"/><Gather firstDigitTimeout="0"/><Tag/><Redirect redirectUrl="/r"/></Response>`)
	if _, err := Run(testCtx(t), doc, c); err != nil {
		t.Fatal(err)
	}
	want := []string{"tag:a", "tag:b", "answer", "tag:"}
	if got := c.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}
