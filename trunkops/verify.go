package trunkops

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/calls"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// Number verification (PUT /v1/sip/verify): the node calls the number
// through its outbound configuration, speaks a one-time code and gathers
// it by DTMF; the number is verified when the callee keys it in. With
// RequireVerification, calls may not use an unverified number as their
// caller ID.

// Verification bounds.
const (
	VerifyCodeDigits = 6
	VerifyRing       = 30 * time.Second
	// VerifyLimit calls per number in VerifyWindow: each places a real call
	// (and a code has 10^6 values, so guessing needs many calls).
	VerifyLimit  = 5
	VerifyWindow = time.Hour
	verifyTag    = "sip-verification"
)

// Verification states.
const (
	VerifyCalling    = "calling"
	VerifyVerified   = "verified"
	VerifyFailed     = "failed"
	VerifyUnverified = "unverified"
)

// ErrVerificationRunning refuses a verification while the number's last
// one is still calling.
var ErrVerificationRunning = errors.New("a verification call to this number is already running")

// VerifyRateLimitedError refuses a verification past VerifyLimit.
type VerifyRateLimitedError struct{ RetryAfter time.Duration }

func (e *VerifyRateLimitedError) Error() string {
	return fmt.Sprintf("at most %d verification calls per number in %s: try again in %s", VerifyLimit, VerifyWindow, e.RetryAfter.Round(time.Second))
}

// VerifyEngine places system calls and reports live calls (calls.Engine).
type VerifyEngine interface {
	SystemCall(ctx context.Context, s calls.SystemCall) (store.CallRecord, error)
	LiveCall(accountID, id string) (store.CallRecord, bool)
}

// VerifyStatus is a number's verification state.
type VerifyStatus struct {
	Number     string
	Status     string // calling, verified, failed, unverified
	Method     string // how it was verified (call, port, existing)
	VerifiedAt time.Time
	CallID     string // the last verification call
	Reason     string // why the last attempt failed
	StartedAt  time.Time
}

// Verifier runs verification calls.
type Verifier struct {
	engine  VerifyEngine
	store   *store.Store
	require bool
	log     *slog.Logger

	mu       sync.Mutex
	attempts map[string]*verifyAttempt // account|number → its last attempt
	placed   map[string][]time.Time    // account|number → calls in the window
	now      func() time.Time
	codes    func() (string, error)
}

type verifyAttempt struct {
	callID  string
	code    string // cleared once entered
	status  string
	reason  string
	started time.Time
}

// NewVerifier returns the node's verifier; require refuses unverified
// caller IDs. codes makes each attempt's code (nil: NewCode, from
// crypto/rand; tests that play the callee pass their own).
func NewVerifier(e VerifyEngine, st *store.Store, require bool, codes func() (string, error), log *slog.Logger) *Verifier {
	if log == nil {
		log = slog.Default()
	}
	if codes == nil {
		codes = NewCode
	}
	return &Verifier{engine: e, store: st, require: require, log: log.With("component", "verify"),
		attempts: map[string]*verifyAttempt{}, placed: map[string][]time.Time{}, now: time.Now, codes: codes}
}

// NewCode returns a uniformly random code of VerifyCodeDigits digits.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("verification code: %w", err)
	}
	return fmt.Sprintf("%0*d", VerifyCodeDigits, n.Int64()), nil
}

// verifyDocument speaks code digit by digit (twice, and again if nothing
// is keyed) and gathers VerifyCodeDigits digits.
func verifyDocument(code string) (*bxml.Document, error) {
	spoken := strings.Join(strings.Split(code, ""), ", ")
	return bxml.Parse(fmt.Appendf(nil, `<Response><Pause duration="1"/>`+
		`<Gather gatherUrl="/verify" maxDigits="%d" terminatingDigits="#" firstDigitTimeout="10" interDigitTimeout="5" repeatCount="2">`+
		`<SpeakSentence>Your verification code is %s. Again: %s. Enter the code now.</SpeakSentence></Gather>`+
		`</Response>`, VerifyCodeDigits, spoken, spoken))
}

// Start places a verification call to an account's number.
func (v *Verifier) Start(ctx context.Context, accountID, number string) (VerifyStatus, error) {
	key := accountID + "|" + number
	v.mu.Lock()
	defer v.mu.Unlock()
	if a := v.attempts[key]; a != nil && a.status == VerifyCalling {
		if _, live := v.engine.LiveCall(accountID, a.callID); live {
			return VerifyStatus{}, ErrVerificationRunning
		}
	}
	now := v.now()
	recent := v.placed[key]
	for len(recent) > 0 && now.Sub(recent[0]) >= VerifyWindow {
		recent = recent[1:]
	}
	v.placed[key] = recent
	if len(recent) >= VerifyLimit {
		return VerifyStatus{}, &VerifyRateLimitedError{RetryAfter: recent[0].Add(VerifyWindow).Sub(now)}
	}
	code, err := v.codes()
	if err != nil {
		return VerifyStatus{}, err
	}
	if len(code) != VerifyCodeDigits || strings.Trim(code, "0123456789") != "" {
		return VerifyStatus{}, fmt.Errorf("verification code source gave %d characters, want %d digits", len(code), VerifyCodeDigits)
	}
	doc, err := verifyDocument(code)
	if err != nil {
		return VerifyStatus{}, fmt.Errorf("verification document: %w", err)
	}
	a := &verifyAttempt{code: code, status: VerifyCalling, started: now}
	rec, err := v.engine.SystemCall(ctx, calls.SystemCall{AccountID: accountID, Number: number, Tag: verifyTag, Ring: VerifyRing, Doc: doc,
		OnEvent: func(ctx context.Context, ev bxml.Event) (*bxml.Document, error) {
			return v.entered(ctx, accountID, number, a, ev)
		}})
	if err != nil {
		return VerifyStatus{}, err
	}
	a.callID = rec.ID
	v.attempts[key] = a
	v.placed[key] = append(recent, now)
	v.log.Info("verification call placed", "accountId", accountID, "phoneNumber", number, "callId", rec.ID)
	return VerifyStatus{Number: number, Status: VerifyCalling, CallID: rec.ID, StartedAt: now}, nil
}

// entered checks the digits the callee keyed in (the Gather's callback)
// and answers with what the call says before it hangs up.
func (v *Verifier) entered(ctx context.Context, accountID, number string, a *verifyAttempt, ev bxml.Event) (*bxml.Document, error) {
	g, ok := ev.(*bxml.GatherEvent)
	if !ok {
		return nil, nil
	}
	v.mu.Lock()
	code, callID := a.code, a.callID
	a.code = "" // one entry per code
	v.mu.Unlock()
	okCode := code != "" && len(g.Digits) == len(code) && subtle.ConstantTimeCompare([]byte(g.Digits), []byte(code)) == 1
	status, reason, say := VerifyFailed, "the callee entered a wrong code", "That code is not correct. Goodbye."
	if g.Digits == "" {
		reason = "no code was entered"
	}
	if okCode {
		if err := v.store.SetNumberVerified(ctx, accountID, number, store.VerifiedByCall); err != nil {
			v.log.Error("record verification", "phoneNumber", number, "error", err)
			reason = "the verification could not be saved"
		} else {
			status, reason, say = VerifyVerified, "", "Thank you. Your number is verified. Goodbye."
		}
	}
	v.mu.Lock()
	a.status, a.reason = status, reason
	v.mu.Unlock()
	v.log.Info("verification "+status, "accountId", accountID, "phoneNumber", number, "callId", callID, "reason", reason)
	return bxml.Parse([]byte(`<Response><SpeakSentence>` + say + `</SpeakSentence><Hangup/></Response>`))
}

// Status reads a number's verification state.
func (v *Verifier) Status(ctx context.Context, accountID, number string) (VerifyStatus, error) {
	s := VerifyStatus{Number: number, Status: VerifyUnverified}
	method, at, ok, err := v.store.NumberVerified(ctx, accountID, number)
	if err != nil {
		return VerifyStatus{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if a := v.attempts[accountID+"|"+number]; a != nil {
		if a.status == VerifyCalling {
			if _, live := v.engine.LiveCall(accountID, a.callID); !live {
				a.status, a.reason, a.code = VerifyFailed, "the call ended before a code was entered (not answered, or hung up)", ""
			}
		}
		s.CallID, s.StartedAt, s.Reason = a.callID, a.started, a.reason
		if a.status != VerifyVerified {
			s.Status = a.status
		}
	}
	if ok {
		s.Status, s.Method, s.VerifiedAt = VerifyVerified, method, at
	}
	return s, nil
}

// CheckCallerID refuses, when verification is required, a call placed
// from an E.164 number the account has not verified.
func (v *Verifier) CheckCallerID(ctx context.Context, accountID, from string) error {
	if !v.require || !sipdest.IsE164(from) {
		return nil
	}
	_, _, ok, err := v.store.NumberVerified(ctx, accountID, from)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is not verified for this account: verify it with PUT /v1/sip/verify (a call that speaks a code to key in) or port it in", calls.ErrCallerIDRefused, from)
	}
	return nil
}
