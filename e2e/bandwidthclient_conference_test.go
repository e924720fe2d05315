package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bw "github.com/wasmvoice/wasmvoice/examples/bandwidthclient"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// The nine conference operations through a client generated from
// Bandwidth's Voice API document, on a real conference: two calls placed
// with createCall to sipp callees (each streaming a tone) join it from
// their answer BXML; the conference is listed, read, its members read and
// muted, its mix recorded (BXML PUT to it) and downloaded, redirected and
// completed; every answer is checked against the spec.
func TestBandwidthClientConferences(t *testing.T) {
	testenv.LookTool(t, "sipp")
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	chk := newSpecCheck(t)
	c, err := bw.NewClientWithResponses(s.api+"/api/v2", bw.WithRequestEditorFn(bw.BasicAuth(s.id, s.secret)))
	if err != nil {
		t.Fatal(err)
	}
	acct := s.account
	h := newHook(t, func(path string, _ map[string]any) string {
		switch path {
		case "/answer":
			return `<Response><Conference conferenceEventUrl="/conference" tag="bw">bw-room</Conference></Response>`
		case "/redirect":
			return `<Bxml><PauseRecording/><ResumeRecording/></Bxml>`
		}
		return ""
	})
	appID, _ := s.app(map[string]any{"callInitiatedCallbackUrl": h.url("/initiate"), "callStatusCallbackUrl": h.url("/status")}, nil)
	var callees []*sippRun
	for i, hz := range []float64{500, 900} {
		tone := filepath.Join(t.TempDir(), fmt.Sprintf("tone%d.ulaw", i))
		if err := os.WriteFile(tone, ulawTone(hz, 30*time.Second), 0o644); err != nil {
			t.Fatal(err)
		}
		port := testenv.FreeUDPPort(t)
		callees = append(callees, startSipp(t, "amd_uas.xml", map[string]string{"Audio": tone}, s.sip, "-p", strconv.Itoa(port)))
		created, err := c.CreateCallWithResponse(ctx, acct, bw.CreateCall{To: fmt.Sprintf("sip:callee@127.0.0.1:%d", port), From: "+15550001111",
			ApplicationId: appID, AnswerUrl: h.url("/answer")})
		chk.op("createCall", 201, created, err)
	}
	for deadline := time.Now().Add(20 * time.Second); len(h.all("conferenceMemberJoin")) < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("two members did not join: %v", h.types())
		}
	}
	name := "bw-room"
	list, err := c.ListConferencesWithResponse(ctx, acct, &bw.ListConferencesParams{Name: &name})
	chk.op("listConferences", 200, list, err)
	if list == nil || list.JSON200 == nil || len(*list.JSON200) != 1 {
		t.Fatalf("listConferences: %v", err)
	}
	confID := *(*list.JSON200)[0].Id
	conf, err := c.GetConferenceWithResponse(ctx, acct, confID)
	chk.op("getConference", 200, conf, err)
	if conf == nil || conf.JSON200 == nil || conf.JSON200.ActiveMembers == nil || len(*conf.JSON200.ActiveMembers) != 2 {
		t.Fatalf("getConference: %v", err)
	}
	memberID := *(*conf.JSON200.ActiveMembers)[0].CallId
	mute := true
	um, err := c.UpdateConferenceMemberWithResponse(ctx, acct, confID, memberID, bw.UpdateConferenceMember{Mute: &mute})
	chk.op("updateConferenceMember", 204, um, err)
	m, err := c.GetConferenceMemberWithResponse(ctx, acct, confID, memberID)
	chk.op("getConferenceMember", 200, m, err)
	if m != nil && m.JSON200 != nil && (m.JSON200.Mute == nil || !*m.JSON200.Mute) {
		t.Errorf("member after mute: %s", m.Body)
	}
	bx, err := c.UpdateConferenceBxmlWithBodyWithResponse(ctx, acct, confID, "application/xml", strings.NewReader(`<Bxml><StartRecording/></Bxml>`))
	chk.op("updateConferenceBxml", 204, bx, err)
	redirect := h.url("/redirect")
	up, err := c.UpdateConferenceWithResponse(ctx, acct, confID, bw.UpdateConference{RedirectUrl: &redirect})
	chk.op("updateConference", 204, up, err)
	if _, ok := h.wait("conferenceRedirect", 10*time.Second); !ok {
		t.Errorf("no conferenceRedirect: %v", h.types())
	}
	time.Sleep(time.Second) // a second of the mix recorded
	bx, err = c.UpdateConferenceBxmlWithBodyWithResponse(ctx, acct, confID, "application/xml", strings.NewReader(`<Bxml><StopRecording/></Bxml>`))
	chk.op("updateConferenceBxml", 204, bx, err)
	avail, ok := h.wait("conferenceRecordingAvailable", 10*time.Second)
	if !ok {
		t.Fatalf("no conferenceRecordingAvailable: %v", h.types())
	}
	recID, _ := avail["recordingId"].(string)
	recs, err := c.ListConferenceRecordingsWithResponse(ctx, acct, confID)
	chk.op("listConferenceRecordings", 200, recs, err)
	rec, err := c.GetConferenceRecordingWithResponse(ctx, acct, confID, recID)
	chk.op("getConferenceRecording", 200, rec, err)
	media, err := c.DownloadConferenceRecordingWithResponse(ctx, acct, confID, recID)
	chk.op("downloadConferenceRecording", 200, media, err)
	if media != nil && (len(media.Body) < 44 || string(media.Body[:4]) != "RIFF") {
		t.Errorf("downloaded %d bytes, not a WAV file", len(media.Body))
	}
	completed := bw.ConferenceStateEnumCompleted
	up, err = c.UpdateConferenceWithResponse(ctx, acct, confID, bw.UpdateConference{Status: &completed})
	chk.op("updateConference", 204, up, err)
	if _, ok := h.wait("conferenceCompleted", 10*time.Second); !ok {
		t.Errorf("no conferenceCompleted: %v", h.types())
	}
	// The members' documents end after <Conference>: both calls hang up.
	for _, callee := range callees {
		if !callee.wait(t, 15*time.Second) {
			t.Errorf("a callee did not get the BYE after the conference completed")
		}
	}
	gone, err := c.GetConferenceMemberWithResponse(ctx, acct, confID, "c-not-a-member")
	chk.op("getConferenceMember", 404, gone, err)
	chk.report()
}
