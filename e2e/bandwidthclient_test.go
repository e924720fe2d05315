package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	bw "github.com/wasmvoice/wasmvoice/examples/bandwidthclient"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/media/g711"
)

// A client generated from Bandwidth's own Voice API document drives the real
// binary with only its base URL and credentials changed: every operation it
// has is called, and every answer is checked against that document's schema.
// The operations wasmvoice has must work; the others must fail the way the
// spec lets them (a VoiceApiError), so the client's error handling works.
func TestBandwidthClient(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	chk := newSpecCheck(t)

	// The configuration a Bandwidth customer changes: base URL and
	// credentials (Basic, or tokens from our token endpoint).
	c, err := bw.NewClientWithResponses(s.api+"/api/v2", bw.WithRequestEditorFn(bw.BasicAuth(s.id, s.secret)))
	if err != nil {
		t.Fatal(err)
	}
	withToken, err := bw.NewClientWithResponses(s.api+"/api/v2",
		bw.WithRequestEditorFn(bw.TokenAuth(s.api+"/api/v1/oauth2/token", s.id, s.secret)))
	if err != nil {
		t.Fatal(err)
	}
	acct := s.account

	uas := newRawUAS(t)
	h := newHook(t, func(path string, _ map[string]any) string {
		switch path {
		case "/answer":
			return `<Response><StartRecording/><Pause duration="60"/></Response>`
		case "/redirect":
			return `<Response><Pause duration="60"/></Response>`
		}
		return ""
	})
	appID, _ := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")}, nil)

	stats, err := withToken.GetStatisticsWithResponse(ctx, acct)
	chk.op("getStatistics", 200, stats, err)

	// A call that rings, is tagged, and is cancelled; its createCall sets
	// every field the spec's body has.
	yes, prio, timeout, cbTimeout := true, 3, 20.0, 10.0
	name, uui, tag, fallback := "Support", "aGVsbG8;encoding=base64", "first", h.url("/fallback")
	created, err := c.CreateCallWithResponse(ctx, acct, bw.CreateCall{To: "sip:callee@" + uas.addr(), From: "+15550001111",
		ApplicationId: appID, AnswerUrl: h.url("/answer"), DisconnectUrl: ptr(h.url("/status")), AnswerFallbackUrl: &fallback,
		AnswerMethod: ptr(bw.CallbackMethodEnumPOST), AnswerFallbackMethod: ptr(bw.CallbackMethodEnumPOST),
		DisconnectMethod: ptr(bw.CallbackMethodEnumPOST), Username: ptr("u"), Password: ptr("p"),
		FallbackUsername: ptr("fu"), FallbackPassword: ptr("fp"), Privacy: &yes, DisplayName: &name, Uui: &uui, Tag: &tag,
		Priority: &prio, CallTimeout: &timeout, CallbackTimeout: &cbTimeout,
		MachineDetection: &bw.MachineDetectionConfiguration{Mode: ptr(bw.Async), CallbackUrl: ptr(h.url("/amd"))}})
	chk.op("createCall", 201, created, err)
	if created == nil || created.JSON201 == nil {
		t.Fatalf("createCall: %v", err)
	}
	ringing := created.JSON201.CallId
	invite, src := uas.read("INVITE", 10*time.Second)
	uas.respond(invite, src, "180 Ringing")
	for _, want := range []string{`From: "Support" <sip:anonymous@anonymous.invalid>`, "Privacy: id", "P-Asserted-Identity: <sip:+15550001111@", "User-to-User: " + uui} {
		if !strings.Contains(invite, want) {
			t.Errorf("the INVITE lacks %q:\n%s", want, invite)
		}
	}
	state, err := c.GetCallStateWithResponse(ctx, acct, ringing)
	chk.op("getCallState", 200, state, err)
	if state != nil && state.JSON200 != nil && (state.JSON200.State == nil || *state.JSON200.State != "initiated") {
		t.Errorf("ringing call's state %v", state.JSON200.State)
	}
	list, err := c.ListCallsWithResponse(ctx, acct, nil)
	chk.op("listCalls", 200, list, err)
	if list != nil && list.JSON200 != nil && !slices.ContainsFunc(*list.JSON200, func(cs bw.CallState) bool { return cs.CallId != nil && *cs.CallId == ringing }) {
		t.Errorf("listCalls lacks the ringing call")
	}
	stats, err = c.GetStatisticsWithResponse(ctx, acct)
	chk.op("getStatistics", 200, stats, err)
	if stats != nil && stats.JSON200 != nil && (stats.JSON200.CurrentCallQueueSize == nil || *stats.JSON200.CurrentCallQueueSize != 1) {
		t.Errorf("statistics while one call rings: %+v", stats.JSON200)
	}
	upd, err := c.UpdateCallWithResponse(ctx, acct, ringing, bw.UpdateCall{Tag: ptr("second")})
	chk.op("updateCall", 200, upd, err)
	upd, err = c.UpdateCallWithResponse(ctx, acct, ringing, bw.UpdateCall{State: ptr(bw.CallStateEnum("completed"))})
	chk.op("updateCall", 200, upd, err)
	if cancelReq, src := uas.read("CANCEL", 10*time.Second); cancelReq != "" {
		uas.respond(cancelReq, src, "200 OK")
		uas.respond(invite, src, "487 Request Terminated")
	}
	if disc, ok := h.wait("disconnect", 10*time.Second); !ok || disc["cause"] != "cancel" || disc["tag"] != "second" {
		t.Errorf("the cancelled call's disconnect: %v", disc)
	}

	// A call that is answered (by sipp, talking a tone), records, gets new
	// BXML, is redirected and hung up; its recording is read, downloaded,
	// transcribed and deleted.
	tone := filepath.Join(t.TempDir(), "tone.ulaw")
	if err := os.WriteFile(tone, ulawTone(440, 10*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreeUDPPort(t)
	callee := startSipp(t, "amd_uas.xml", map[string]string{"Audio": tone}, s.sip, "-p", strconv.Itoa(port))
	created, err = c.CreateCallWithResponse(ctx, acct, bw.CreateCall{To: fmt.Sprintf("sip:callee@127.0.0.1:%d", port), From: "+15550001111",
		ApplicationId: appID, AnswerUrl: h.url("/answer")})
	chk.op("createCall", 201, created, err)
	if created == nil || created.JSON201 == nil {
		t.Fatalf("createCall: %v", err)
	}
	answered := created.JSON201.CallId
	if _, ok := h.wait("answer", 10*time.Second); !ok {
		t.Fatalf("no answer callback: %v", h.types())
	}
	time.Sleep(time.Second) // a second of audio recorded
	for _, state := range []bw.RecordingStateEnum{"paused", "recording"} {
		rs, err := c.UpdateCallRecordingStateWithResponse(ctx, acct, answered, bw.UpdateCallRecording{State: state})
		chk.op("updateCallRecordingState", 200, rs, err)
	}
	bx, err := c.UpdateCallBxmlWithBodyWithResponse(ctx, acct, answered, "application/xml",
		strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><Bxml><StopRecording/><Pause duration="60"/></Bxml>`))
	chk.op("updateCallBxml", 204, bx, err)
	var recID string
	for deadline := time.Now().Add(10 * time.Second); recID == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		recs, err := c.ListCallRecordingsWithResponse(ctx, acct, answered)
		if recs != nil && recs.JSON200 != nil && len(*recs.JSON200) == 1 {
			chk.op("listCallRecordings", 200, recs, err)
			recID = *(*recs.JSON200)[0].RecordingId
		}
	}
	if recID == "" {
		t.Fatal("the recording never showed in listCallRecordings")
	}
	upd, err = c.UpdateCallWithResponse(ctx, acct, answered, bw.UpdateCall{RedirectUrl: ptr(h.url("/redirect"))})
	chk.op("updateCall", 200, upd, err)
	if _, ok := h.wait("redirect", 10*time.Second); !ok {
		t.Errorf("no redirect callback: %v", h.types())
	}
	rec, err := c.GetCallRecordingWithResponse(ctx, acct, answered, recID)
	chk.op("getCallRecording", 200, rec, err)
	media, err := c.DownloadCallRecordingWithResponse(ctx, acct, answered, recID)
	chk.op("downloadCallRecording", 200, media, err)
	if media != nil && (len(media.Body) < 44 || string(media.Body[:4]) != "RIFF") {
		t.Errorf("downloaded %d bytes, not a WAV file", len(media.Body))
	}
	upd, err = c.UpdateCallWithResponse(ctx, acct, answered, bw.UpdateCall{State: ptr(bw.CallStateEnum("completed"))})
	chk.op("updateCall", 200, upd, err)
	if !callee.wait(t, 10*time.Second) {
		t.Errorf("sipp did not get the BYE of the completed call")
	}
	all, err := c.ListAccountCallRecordingsWithResponse(ctx, acct, nil)
	chk.op("listAccountCallRecordings", 200, all, err)
	if all != nil && (all.JSON200 == nil || len(*all.JSON200) == 0) {
		t.Errorf("the account's recordings do not list %s: %s", recID, all.Body)
	}
	// Its transcription on request (pocketsphinx, as CI installs it).
	testenv.LookTool(t, "pocketsphinx_batch")
	tr, err := c.TranscribeCallRecordingWithResponse(ctx, acct, answered, recID, bw.TranscribeRecording{CallbackUrl: ptr(h.url("/transcribed"))})
	chk.op("transcribeCallRecording", 204, tr, err)
	if _, ok := h.wait("transcriptionAvailable", 60*time.Second); !ok {
		t.Errorf("no transcriptionAvailable callback: %v", h.types())
	}
	gt, err := c.GetRecordingTranscriptionWithResponse(ctx, acct, answered, recID)
	chk.op("getRecordingTranscription", 200, gt, err)
	dt, err := c.DeleteRecordingTranscriptionWithResponse(ctx, acct, answered, recID)
	chk.op("deleteRecordingTranscription", 204, dt, err)
	dm, err := c.DeleteRecordingMediaWithResponse(ctx, acct, answered, recID)
	chk.op("deleteRecordingMedia", 204, dm, err)
	del, err := c.DeleteRecordingWithResponse(ctx, acct, answered, recID)
	chk.op("deleteRecording", 204, del, err)

	// Errors are VoiceApiError with the spec's status.
	gone, err := c.GetCallStateWithResponse(ctx, acct, "c-does-not-exist")
	chk.op("getCallState", 404, gone, err)
	if gone != nil && (gone.JSON404 == nil || gone.JSON404.Type == nil || gone.JSON404.Description == nil) {
		t.Errorf("404 body %s does not decode as a VoiceApiError", gone.Body)
	}
	bad, err := c.CreateCallWithResponse(ctx, acct, bw.CreateCall{To: "bob", From: "+15550001111", ApplicationId: appID, AnswerUrl: h.url("/answer")})
	chk.op("createCall", 400, bad, err)
	if bad != nil && (bad.JSON400 == nil || bad.JSON400.Description == nil || !strings.Contains(*bad.JSON400.Description, "to")) {
		t.Errorf("400 body %s does not name the field", bad.Body)
	}

	// Real-time transcriptions: the call made none (server/rtt_test.go
	// makes one); the answers still follow the spec.
	lt, err := c.ListRealTimeTranscriptionsWithResponse(ctx, acct, answered)
	chk.op("listRealTimeTranscriptions", 200, lt, err)
	gtt, err := c.GetRealTimeTranscriptionWithResponse(ctx, acct, answered, "t-none")
	chk.op("getRealTimeTranscription", 404, gtt, err)
	dtt, err := c.DeleteRealTimeTranscriptionWithResponse(ctx, acct, answered, "t-none")
	chk.op("deleteRealTimeTranscription", 404, dtt, err)

	chk.report()
}

// endpointOperations are the spec's BRTC (WebRTC endpoint) operations, on
// Bandwidth's other host (api.bandwidth.com/v2) with their own error shape;
// wasmvoice has no WebRTC endpoints.
var endpointOperations = []string{"listEndpoints", "createEndpoint", "getEndpoint", "deleteEndpoint", "updateEndpointBxml"}

func ptr[T any](v T) *T { return &v }

// httpResponse is what every generated response has.
type httpResponse interface{ StatusCode() int }

// specCheck validates responses against reference/bandwidth-voice-api.yml
// and keeps, per operation, whether it worked (a 2xx that fits the schema).
type specCheck struct {
	t  *testing.T
	v  validator.Validator
	mu sync.Mutex
	// works is, per operation called, whether it answered a 2xx that fits
	// the spec.
	works map[string]bool
}

func newSpecCheck(t *testing.T) *specCheck {
	t.Helper()
	b, err := os.ReadFile("../reference/bandwidth-voice-api.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("spec: %v", errs)
	}
	return &specCheck{t: t, v: v, works: map[string]bool{}}
}

// op checks one answer of operation op: its status is want (0: any error
// the spec allows, for operations wasmvoice does not have yet) and its
// body fits the spec's schema for that status.
func (c *specCheck) op(op string, want int, resp httpResponse, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Errorf("%s: %v", op, err)
		return
	}
	hr, body := rawOf(resp)
	if hr == nil {
		c.t.Errorf("%s: no response", op)
		return
	}
	switch {
	case want != 0 && hr.StatusCode != want:
		c.t.Errorf("%s: HTTP %d, want %d: %s", op, hr.StatusCode, want, body)
	case want == 0 && hr.StatusCode < 400:
		c.t.Logf("%s: HTTP %d: works now; move it into the test's flow", op, hr.StatusCode)
	}
	copyResp := *hr
	copyResp.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := c.v.ValidateHttpResponse(hr.Request, &copyResp)
	if !ok {
		var msgs []string
		for _, e := range errs {
			m := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				m += fmt.Sprintf(" [%s: %s]", se.FieldPath, se.Reason)
			}
			msgs = append(msgs, m)
		}
		if why, known := knownMismatch[op]; known && hr.StatusCode < 400 {
			c.t.Logf("%s: HTTP %d does not fit the spec (%s): %s", op, hr.StatusCode, why, strings.Join(msgs, "; "))
		} else {
			c.t.Errorf("%s: HTTP %d does not fit the spec: %s\n%s", op, hr.StatusCode, strings.Join(msgs, "; "), body)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hr.StatusCode < 300 {
		c.works[op] = c.works[op] || ok
	} else if _, seen := c.works[op]; !seen {
		c.works[op] = false
	}
}

// knownMismatch are answers that do not fit the spec yet, with the branch
// that fixes them: logged, not failed, until that lands.
var knownMismatch = map[string]string{}

// report logs how many of the spec's operations work against the binary.
func (c *specCheck) report() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var works, not []string
	for op, ok := range c.works {
		if ok {
			works = append(works, op)
		} else {
			not = append(not, op)
		}
	}
	not = append(not, endpointOperations...)
	slices.Sort(works)
	slices.Sort(not)
	c.t.Logf("%d of %d Voice API operations work with a client generated from the spec: %s", len(works), len(works)+len(not), strings.Join(works, ", "))
	c.t.Logf("not (yet): %s", strings.Join(not, ", "))
}

// rawOf returns a generated response's HTTP response and body: the
// HTTPResponse and Body fields every generated response struct has.
func rawOf(resp httpResponse) (*http.Response, []byte) {
	rv := reflect.ValueOf(resp)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	hr, _ := rv.FieldByName("HTTPResponse").Interface().(*http.Response)
	body, _ := rv.FieldByName("Body").Interface().([]byte)
	return hr, body
}

// ulawTone is d of a sine at freq, as raw G.711 u-law at 8 kHz (what
// sipp's rtp_stream plays).
func ulawTone(freq float64, d time.Duration) []byte {
	out := make([]byte, int(d.Seconds()*8000))
	for i := range out {
		out[i] = g711.EncodeUlaw(int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000)))
	}
	return out
}
