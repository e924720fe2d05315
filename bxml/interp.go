package bxml

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Call is what the interpreter drives; the engine implements it for each
// call leg. Every blocking method must return promptly with ctx.Err() when
// ctx ends: the interpreter cancels prompts that way when a digit arrives,
// and the engine cancels the whole run when the caller hangs up.
type Call interface {
	// Answer answers the call if it is not answered yet; calling it again
	// is a no-op. Run calls it before every verb that needs media, so a
	// call whose document starts with <Hangup/> or <Forward> is never
	// answered.
	Answer(ctx context.Context) error
	// Speak speaks s (SSML markup in s.SSML, s.PlainText for plain TTS).
	Speak(ctx context.Context, s *SpeakSentence) error
	// Play plays the audio at p.URL (fetched with p's credentials).
	Play(ctx context.Context, p *PlayAudio) error
	// Ring plays ringback for d (before or after answer).
	Ring(ctx context.Context, d time.Duration) error
	// SendDTMF sends digits (only 0-9 * #: the interpreter turns SendDtmf's
	// w and W into pauses between calls), each toneDuration long with
	// toneInterval between them.
	SendDTMF(ctx context.Context, digits string, toneDuration, toneInterval time.Duration) error
	// ReadDigit returns the next DTMF digit received on the call. A digit
	// that arrives while ctx ends must stay queued for the next call:
	// ReadDigit never consumes a digit it does not return.
	ReadDigit(ctx context.Context) (byte, error)
	// DiscardDigits drops digits queued before a Gather starts.
	DiscardDigits()
	// StartGather starts reporting every digit in the background as a dtmf
	// event to g.DtmfTarget() until StopGather or the call ends.
	StartGather(ctx context.Context, g *StartGather) error
	StopGather(ctx context.Context) error
	// Record records the caller as r says (terminating digits, silence,
	// maxDuration) and returns when the recording ends. The engine stores
	// it and sends recordingAvailable to r.RecordingAvailableTarget().
	Record(ctx context.Context, r *Record) (Recording, error)
	// StartRecording starts a background recording of the call.
	StartRecording(ctx context.Context, r *StartRecording) error
	StopRecording(ctx context.Context) error
	PauseRecording(ctx context.Context) error
	ResumeRecording(ctx context.Context) error
	// Transfer dials t.Targets at once, runs transferAnswer BXML on the
	// first to answer, bridges it and returns when that bridge ends (or no
	// target answered). transferDisconnect events are the engine's.
	Transfer(ctx context.Context, t *Transfer) (TransferResult, error)
	// Bridge joins the call with b.CallID and returns when the bridge ends.
	// bridgeTargetComplete on the other call is the engine's.
	Bridge(ctx context.Context, b *Bridge) (BridgeResult, error)
	// Forward hands the call off at the SIP level; the call leaves BXML.
	Forward(ctx context.Context, f *Forward) error
	// SetTag sets the sticky tag sent with later callbacks ("" clears it).
	SetTag(tag string)
}

// Referrer is a Call that can send a SIP REFER in its dialog (<Refer>).
type Referrer interface {
	// Refer asks the call's peer to transfer itself to r's target and
	// waits for the outcome. Transferred: the peer reported success and
	// the call is being hung up (the engine reports referComplete itself);
	// otherwise the call goes on and Run sends referComplete to
	// referCompleteUrl.
	Refer(ctx context.Context, r *Refer) (ReferResult, error)
}

// ReferResult is how a <Refer> ended.
type ReferResult struct {
	Transferred  bool
	SipStatus    int // the peer's refusal, or the final sipfrag status
	Cause        string
	ErrorMessage string
}

// Recording is what Call.Record reports.
type Recording struct {
	ID         string
	MediaURL   string
	StartTime  time.Time
	EndTime    time.Time
	Duration   time.Duration
	FileFormat string // "wav" or "mp3"
	Channels   int
}

// TransferResult is how a Transfer ended.
type TransferResult struct {
	Cause            string // a disconnect cause: hangup, busy, timeout, ...
	ErrorMessage     string
	ErrorID          string
	TransferCallerID string // the B-leg's from
	TransferTo       string // the B-leg's to
}

// BridgeResult is how a Bridge ended.
type BridgeResult struct {
	Cause        string
	ErrorMessage string
	ErrorID      string
}

// OutcomeKind says why Run returned.
type OutcomeKind int

const (
	// OutcomeEnd: the document ran to its end. For a call this means hang
	// up; for a transferAnswer document on a B-leg, bridge it.
	OutcomeEnd OutcomeKind = iota
	// OutcomeHangup: a <Hangup/> ran; end the call (reject it if it was
	// never answered).
	OutcomeHangup
	// OutcomeCallback: send Event to Target, then Run the BXML it returns
	// (no BXML, or an empty document, ends the call like OutcomeEnd).
	OutcomeCallback
	// OutcomeForwarded: the call was handed off by <Forward>.
	OutcomeForwarded
)

func (k OutcomeKind) String() string {
	switch k {
	case OutcomeEnd:
		return "end"
	case OutcomeHangup:
		return "hangup"
	case OutcomeCallback:
		return "callback"
	case OutcomeForwarded:
		return "forwarded"
	}
	return fmt.Sprintf("OutcomeKind(%d)", int(k))
}

// Outcome is the result of Run.
type Outcome struct {
	Kind OutcomeKind
	// Verb is the verb that ended the run ("" for OutcomeEnd).
	Verb string
	// Event and Target are set for OutcomeCallback. The engine completes
	// Event with Fill before sending it.
	Event  Event
	Target Target
}

// Run executes doc's verbs in order against c until the document ends, a
// verb ends the call or hands control to a callback. A document with a
// verb this server does not run yet fails before anything runs, with an
// *Error (cause invalid-bxml). Errors from c are returned wrapped with the
// verb; ctx ending (the caller hung up) returns ctx's error.
func Run(ctx context.Context, doc *Document, c Call) (Outcome, error) {
	if doc == nil {
		return Outcome{Kind: OutcomeEnd}, nil
	}
	if err := CheckSupported(doc); err != nil {
		return Outcome{}, err
	}
	for _, v := range doc.Verbs {
		if err := ctx.Err(); err != nil {
			return Outcome{}, err
		}
		name := v.VerbName()
		countVerb(name)
		out, stop, err := runVerb(ctx, v, c)
		if err != nil {
			return Outcome{}, fmt.Errorf("bxml: %s: %w", name, err)
		}
		if stop {
			out.Verb = name
			return out, nil
		}
	}
	return Outcome{Kind: OutcomeEnd}, nil
}

// runVerb runs one verb; stop is true when the verb ends the run.
func runVerb(ctx context.Context, v Verb, c Call) (out Outcome, stop bool, err error) {
	switch v := v.(type) {
	case *SpeakSentence:
		return out, false, prompt(ctx, c, func() error { return c.Speak(ctx, v) })
	case *PlayAudio:
		return out, false, prompt(ctx, c, func() error { return c.Play(ctx, v) })
	case *Pause:
		return out, false, prompt(ctx, c, func() error { return sleep(ctx, seconds(v.Duration)) })
	case *Ring:
		if v.AnswerCall {
			if err := c.Answer(ctx); err != nil {
				return out, false, err
			}
		}
		return out, false, c.Ring(ctx, seconds(v.Duration))
	case *SendDtmf:
		return out, false, answered(ctx, c, func() error { return sendDTMF(ctx, c, v) })
	case *Gather:
		setTag(c, v.Tag)
		if err := c.Answer(ctx); err != nil {
			return out, false, err
		}
		res, err := gather(ctx, c, v)
		if err != nil || v.GatherURL == "" {
			return out, false, err
		}
		ev := &GatherEvent{Digits: res.digits, TerminatingDigit: res.terminator}
		return Outcome{Kind: OutcomeCallback, Event: ev, Target: v.GatherTarget()}, true, nil
	case *StartGather:
		setTag(c, v.Tag)
		return out, false, answered(ctx, c, func() error { return c.StartGather(ctx, v) })
	case *StopGather:
		return out, false, c.StopGather(ctx)
	case *Record:
		setTag(c, v.Tag)
		if err := c.Answer(ctx); err != nil {
			return out, false, err
		}
		rec, err := c.Record(ctx, v)
		if err != nil || v.RecordCompleteURL == "" {
			return out, false, err
		}
		return Outcome{Kind: OutcomeCallback, Event: recordComplete(rec), Target: v.RecordCompleteTarget()}, true, nil
	case *StartRecording:
		setTag(c, v.Tag)
		return out, false, answered(ctx, c, func() error { return c.StartRecording(ctx, v) })
	case *StopRecording:
		setTag(c, v.Tag)
		return out, false, c.StopRecording(ctx)
	case *PauseRecording:
		setTag(c, v.Tag)
		return out, false, c.PauseRecording(ctx)
	case *ResumeRecording:
		setTag(c, v.Tag)
		return out, false, c.ResumeRecording(ctx)
	case *Transfer:
		setTag(c, v.Tag)
		if err := c.Answer(ctx); err != nil {
			return out, false, err
		}
		res, err := c.Transfer(ctx, v)
		if err != nil || v.TransferCompleteURL == "" {
			return out, false, err
		}
		ev := &TransferCompleteEvent{Cause: res.Cause, ErrorMessage: res.ErrorMessage, ErrorID: res.ErrorID,
			TransferCallerID: res.TransferCallerID, TransferTo: res.TransferTo}
		return Outcome{Kind: OutcomeCallback, Event: ev, Target: v.TransferCompleteTarget()}, true, nil
	case *Bridge:
		setTag(c, v.Tag)
		if err := c.Answer(ctx); err != nil {
			return out, false, err
		}
		res, err := c.Bridge(ctx, v)
		if err != nil || v.BridgeCompleteURL == "" {
			return out, false, err
		}
		ev := &BridgeCompleteEvent{Cause: res.Cause, ErrorMessage: res.ErrorMessage, ErrorID: res.ErrorID}
		return Outcome{Kind: OutcomeCallback, Event: ev, Target: v.BridgeCompleteTarget()}, true, nil
	case *Forward:
		if err := c.Forward(ctx, v); err != nil {
			return out, false, err
		}
		return Outcome{Kind: OutcomeForwarded}, true, nil
	case *Redirect:
		setTag(c, v.Tag)
		return Outcome{Kind: OutcomeCallback, Event: &RedirectEvent{}, Target: v.RedirectTarget()}, true, nil
	case *Refer:
		setTag(c, v.Tag)
		rc, ok := c.(Referrer)
		if !ok {
			return out, false, &Error{Verb: v.VerbName(), Reason: "this call cannot send REFER", Err: ErrUnsupported}
		}
		if err := c.Answer(ctx); err != nil {
			return out, false, err
		}
		res, err := rc.Refer(ctx, v)
		if err != nil {
			return out, false, err
		}
		if res.Transferred {
			return Outcome{Kind: OutcomeForwarded, Verb: v.VerbName()}, true, nil
		}
		if v.ReferCompleteURL == "" {
			return out, false, nil
		}
		ev := &ReferCompleteEvent{ReferDirection: "sent", ReferTo: v.Target().URI, SipStatus: res.SipStatus, Cause: res.Cause, ErrorMessage: res.ErrorMessage}
		return Outcome{Kind: OutcomeCallback, Event: ev, Target: v.ReferCompleteTarget()}, true, nil
	case *Hangup:
		return Outcome{Kind: OutcomeHangup}, true, nil
	case *Tag:
		c.SetTag(v.Value)
		return out, false, nil
	}
	// CheckSupported ran first, so only a verb type added without an
	// interpreter case gets here.
	return out, false, &Error{Verb: v.VerbName(), Reason: fmt.Sprintf("unsupported verb %s (not available yet)", v.VerbName()), Err: ErrUnsupported}
}

// sendDTMF sends runs of digits, pausing 0.5 s for each w and 1 s for each
// W, as BXML defines them.
func sendDTMF(ctx context.Context, c Call, v *SendDtmf) error {
	on, off := millis(v.ToneDuration), millis(v.ToneInterval)
	digits := v.Digits
	for digits != "" {
		i := strings.IndexAny(digits, "wW")
		if i < 0 {
			return c.SendDTMF(ctx, digits, on, off)
		}
		if i > 0 {
			if err := c.SendDTMF(ctx, digits[:i], on, off); err != nil {
				return err
			}
		}
		pause := 500 * time.Millisecond
		if digits[i] == 'W' {
			pause = time.Second
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		digits = digits[i+1:]
	}
	return nil
}

func recordComplete(r Recording) *RecordCompleteEvent {
	return &RecordCompleteEvent{
		CallEvent:   CallEvent{StartTime: At(r.StartTime)},
		RecordingID: r.ID,
		MediaURL:    r.MediaURL,
		EndTime:     At(r.EndTime),
		Duration:    ISODuration(r.Duration),
		FileFormat:  r.FileFormat,
		Channels:    r.Channels,
	}
}

// EarlyMedia is implemented by a Call that can play prompts before it is
// answered. Once a <Ring answerCall="false"> sent early media (183 Session
// Progress with SDP) on a call not answered yet, SpeakSentence, PlayAudio
// and Pause go out as early media too, so a caller hears an announcement
// before (or instead of) the answer, as carriers play them; the first verb
// that needs a two-way call (Gather, Record, Transfer, ...) answers it, and
// Hangup still rejects it.
type EarlyMedia interface {
	// InEarlyMedia reports whether the call sent early media and is not
	// answered.
	InEarlyMedia() bool
}

// prompt plays f, answering the call first unless it is in early media.
func prompt(ctx context.Context, c Call, f func() error) error {
	if em, ok := c.(EarlyMedia); ok && em.InEarlyMedia() {
		return f()
	}
	return answered(ctx, c, f)
}

func answered(ctx context.Context, c Call, f func() error) error {
	if err := c.Answer(ctx); err != nil {
		return err
	}
	return f()
}

// setTag applies a verb's tag attribute: absent keeps the sticky tag, ""
// clears it.
func setTag(c Call, tag *string) {
	if tag != nil {
		c.SetTag(*tag)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
