package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/examples/apiclient"
)

// Everything provisioned with the client generated from openapi.yaml: token,
// application, Inbound SIP URI; then a sipp call to it, and the call's state
// and log read back with the same client. This proves the published document
// is usable as it is.
func TestGeneratedClientEndToEnd(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := apiclient.NewClientWithResponses(s.api)
	if err != nil {
		t.Fatal(err)
	}
	basic := func(_ context.Context, r *http.Request) error {
		r.SetBasicAuth(s.id, s.secret)
		return nil
	}
	tok, err := c.CreateTokenWithFormdataBodyWithResponse(ctx, &apiclient.CreateTokenParams{},
		apiclient.CreateTokenFormdataRequestBody{GrantType: apiclient.ClientCredentials}, basic)
	if err != nil || tok.JSON200 == nil {
		t.Fatalf("token: %v %s", err, body(tok))
	}
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok.JSON200.AccessToken)
		return nil
	}

	hook := newHook(t, func(path string, _ map[string]any) string {
		return `<Response><Pause duration="30"/></Response>`
	})
	initURL, statusURL := hook.url("/initiate"), hook.url("/status")
	created, err := c.CreateVoiceApplicationWithResponse(ctx, s.account, apiclient.VoiceApplicationCreate{
		ApplicationName: "generated client", CallInitiatedCallbackUrl: &initURL, CallStatusCallbackUrl: &statusURL}, bearer)
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create application: %v %s", err, body(created))
	}
	appID := created.JSON201.Data.ApplicationId.String()
	yes := true
	patched, err := c.UpdateVoiceApplicationWithResponse(ctx, s.account, appID,
		apiclient.VoiceApplicationPatch{InboundSipCallsEnabled: &yes, PasswordAuthEnabled: &yes}, bearer)
	if err != nil || patched.JSON200 == nil || patched.JSON200.Data.SipAuthPassword == nil {
		t.Fatalf("enable inbound SIP: %v %s", err, body(patched))
	}
	pw := *patched.JSON200.Data.SipAuthPassword
	got, err := c.GetVoiceApplicationWithResponse(ctx, s.account, appID, bearer)
	if err != nil || got.JSON200 == nil {
		t.Fatalf("read back: %v %s", err, body(got))
	}
	if d := got.JSON200.Data; d.SipUri == nil || *d.SipUri != "sip:"+appID+"@"+s.sip || !d.InboundSipCallsEnabled {
		t.Fatalf("application read back: %+v", d)
	}

	var callID string
	s.traceOnFailure(&callID)
	startSipp(t, "call.xml", scenario{HoldMillis: 0}, s.sip,
		"-s", appID, "-au", appID, "-ap", pw).wait(t, 60*time.Second)
	initiate, ok := hook.wait("initiate", 5*time.Second)
	if !ok {
		t.Fatalf("no initiate callback; got %v", hook.types())
	}
	callID, _ = initiate["callId"].(string)
	if _, ok := hook.wait("disconnect", 10*time.Second); !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}

	state, err := c.GetCallStateWithResponse(ctx, s.account, callID, bearer)
	if err != nil || state.JSON200 == nil {
		t.Fatalf("getCallState: %v %s", err, body(state))
	}
	if st := state.JSON200; st.State != "disconnected" || st.AnswerTime == nil || st.DisconnectCause == nil || *st.DisconnectCause != "hangup" {
		t.Errorf("call state: %+v", st)
	}
	log, err := c.GetCallLogWithResponse(ctx, s.account, callID, bearer)
	if err != nil || log.JSON200 == nil || log.JSON200.SipTrace == nil {
		t.Fatalf("call log: %v %s", err, body(log))
	}
	trace := *log.JSON200.SipTrace
	if len(trace) < 5 || trace[0].Direction != "in" || !strings.HasPrefix(trace[0].Message, "INVITE ") || trace[0].Transport == "" {
		t.Errorf("SIP trace: %d messages, first %+v", len(trace), trace[0])
	}
}

// body describes a generated response for failure messages; r is nil when
// the request itself failed.
func body[R any, P interface {
	*R
	Status() string
}](r P) string {
	if r == nil {
		return ""
	}
	return r.Status()
}
