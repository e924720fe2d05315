package calls

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
)

// What the engine needs from outside, as small interfaces defined here where
// they are used: the node wires sip, callflow and trunkops behind them, and
// the engine's tests use fakes.

// Leg is the signalling side of a call leg.
type Leg interface {
	// Hangup ends an answered leg (BYE).
	Hangup(ctx context.Context) error
	// Done is closed when the leg has ended; EndReason then says why.
	Done() <-chan struct{}
	EndReason() sip.EndReason
	// Trace is the leg's SIP messages (nil when none are kept).
	Trace() *sip.Trace
}

// InboundLeg is an INVITE the front door accepted and the engine answers:
// *sip.InboundCall, or a fake.
type InboundLeg interface {
	Leg
	// Answer sends 200 OK with sdp; Progress sends 183 with sdp (early
	// media); Reject sends a final error response.
	Answer(ctx context.Context, sdp []byte) error
	Progress(sdp []byte) error
	Reject(status int, reason string, headers ...sip.Header) error
}

var _ InboundLeg = (*sip.InboundCall)(nil)

// OutboundLeg is a leg the engine dialled and the callee answered.
type OutboundLeg interface {
	Leg
	// CallID is the leg's SIP Call-ID; AnswerSDP the callee's SDP answer;
	// Source the address the answer came from.
	CallID() string
	AnswerSDP() []byte
	Source() netip.AddrPort
}

// Dialer places outbound legs (SIPDialer over the node's sip.Server).
type Dialer interface {
	// Dial sends the INVITE and returns once the callee answered; a
	// callee's refusal is a *sip.DialError.
	Dial(ctx context.Context, r sip.DialRequest) (OutboundLeg, error)
}

// ErrNoRoute is returned for a phone number the account has no outbound
// route for.
var ErrNoRoute = errors.New("no outbound route")

// Trunks routes calls to phone numbers and maps what trunks send
// (trunkops.Trunks).
type Trunks interface {
	// Route returns how to dial r.Number; ErrNoRoute when it has no route.
	Route(ctx context.Context, r RouteRequest) (DialTarget, error)
	// Inbound is what the configuration of an attached number (route)
	// makes of an INVITE a trunk sent to it.
	Inbound(ctx context.Context, route *sip.NumberRoute, headers map[string][]string) (TrunkInbound, error)
}

// TrunkInbound is a trunk's INVITE as its number's configuration reads it:
// its headers mapped into call variables, and the codecs the answer may
// pick in preference order (nil: the server's).
type TrunkInbound struct {
	Variables map[string]string
	Codecs    media.CodecList
}

// ErrCallerIDRefused is a CallerIDCheck's refusal of a caller ID.
var ErrCallerIDRefused = errors.New("caller ID refused")

// CallerIDCheck decides whether an account may place a call from a caller
// ID (trunkops.Verifier): an error wrapping ErrCallerIDRefused says why it
// may not, any other is a failure to decide.
type CallerIDCheck interface {
	CheckCallerID(ctx context.Context, accountID, from string) error
}

// RouteRequest is a call of AccountID to the phone number Number, placed
// from From (a caller ID or SIP URI), with the call's variables (which feed
// the route's outbound header mappings).
type RouteRequest struct {
	AccountID string
	Number    string
	From      string
	Variables map[string]string
}

// DialTarget is where and how an outbound leg is placed.
type DialTarget struct {
	URI                string
	Username, Password string
	Headers            []sip.Header
	SRTP               bool
	// Route is the phone number, SIP configuration and trunk the target
	// came from, for the call's record (empty for a SIP URI).
	Route store.CallSIPRoute
	// Alternates are the servers to try next, in order, when an attempt
	// fails with an error Failover accepts (trunk failover); their URI and,
	// when set, credentials replace the target's.
	Alternates []DialTarget
	Failover   func(err error) bool
	// AttemptTimeout abandons an attempt that got no response at all
	// within it (ErrTrunkTimeout); 0: only the call's ring timeout.
	AttemptTimeout time.Duration
	// Observe, when set, is told each attempt's outcome (nil: answered).
	Observe func(uri string, err error)
	// Offer, when set, rewrites the SDP offer (the trunk's codec order).
	Offer func(sdp []byte) []byte
	// NoTranscode offers only codecs the call's own leg can pass through
	// unchanged (the trunk does not allow transcoding).
	NoTranscode bool
}

// SIPHooks let a call's application decide on its SIP requests
// (callflow.Mux runs them on the application's module).
type SIPHooks interface {
	// SIPInbound decides on the INVITE that starts an inbound call.
	SIPInbound(ctx context.Context, call callflow.Call, inv callflow.Invite) callflow.InviteDecision
	// SIPOutbound returns the headers an INVITE to uri goes out with, or an
	// error when the application refuses the leg.
	SIPOutbound(ctx context.Context, call callflow.Call, uri, from string, headers []sip.Header) ([]sip.Header, error)
	// SIPRefer decides on a REFER the peer of call's leg sent.
	SIPRefer(ctx context.Context, call callflow.Call, r callflow.ReferRequest) callflow.ReferDecision
}
