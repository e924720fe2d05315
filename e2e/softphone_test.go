package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// softphone is a SIP phone a test drives headless: a WAV file is its
// microphone and what it hears is recorded.
type softphone interface {
	dial(uri string)
	// waitConnected and waitClosed report whether the call reached that
	// state within timeout.
	waitConnected(timeout time.Duration) bool
	waitClosed(timeout time.Duration) bool
	// heard returns the audio received so far, 16-bit mono PCM, and its
	// sample rate.
	heard() (pcm []byte, rate int)
	// sendDTMF presses a key: an RFC 4733 telephone-event.
	sendDTMF(digit byte)
	hangup()
}

// recipeValues are what examples/softphones/README.md has a user put in
// place of the recipes' placeholders.
type recipeValues struct {
	appID, password, domain, port string
}

// recipe reads a file under examples/ and fills in its placeholders, as the
// README's sed command does.
func recipe(t *testing.T, path string, v recipeValues) string {
	t.Helper()
	return fillRecipe(recipeText(t, path), v)
}

// recipeText reads a file under examples/.
func recipeText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fillRecipe(s string, v recipeValues) string {
	return strings.NewReplacer("APPLICATION_ID", v.appID, "SIP_PASSWORD", v.password,
		"SIP_DOMAIN", v.domain, "SIP_PORT", v.port).Replace(s)
}

// hangupBy is the side that ends a softphone call.
type hangupBy string

const (
	byPhone  hangupBy = "phone"
	byServer hangupBy = "server"
)

// noiseRMS is the level received audio must pass to count as heard: silence
// records as 0 and G.711 idle noise stays in the single digits, while
// espeak-ng's speech through G.711 is in the thousands (full scale 32767).
const noiseRMS = 100

// softphoneCall places one call from a phone to an application of s, which
// must have been started with startDefaultServer, and checks all of it: the
// call connects; the phone hears the application's text-to-speech (above
// noise, and not its own microphone tone coming back); the keys it presses
// (RFC 4733) reach the webhook's Gather; and the side by ends the call, the
// other side seeing the BYE. start starts the phone for the application's
// SIP credentials and says which URI it dials. It returns the call's ID.
func softphoneCall(t *testing.T, s *server, by hangupBy, start func(appID, password string) (phone softphone, uri string)) string {
	t.Helper()
	afterGather := `<Response><SpeakSentence>Thank you.</SpeakSentence><Pause duration="30"/></Response>`
	if by == byServer {
		afterGather = `<Response><SpeakSentence>Goodbye.</SpeakSentence><Hangup/></Response>`
	}
	hook := newHook(t, func(path string, _ map[string]any) string {
		switch path {
		case "/initiate":
			return `<Response><Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="5" firstDigitTimeout="30">` +
				`<SpeakSentence>Welcome to wasmvoice. Please press one, then pound. Welcome to wasmvoice.</SpeakSentence>` +
				`</Gather></Response>`
		case "/gather":
			return afterGather
		}
		return ""
	})
	appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
		map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
	var callID string
	s.traceOnFailure(&callID)

	phone, uri := start(appID, pw)
	phone.dial(uri)
	if !phone.waitConnected(30 * time.Second) {
		t.Fatalf("the call did not connect; callbacks %v", hook.types())
	}
	initiate, ok := hook.wait("initiate", 5*time.Second)
	if !ok {
		t.Fatalf("no initiate callback; got %v", hook.types())
	}
	callID, _ = initiate["callId"].(string)

	// The prompt is playing when the recording stops being silent.
	var pcm []byte
	rate := 8000
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if pcm, rate = phone.heard(); rms(pcm) > noiseRMS {
			break
		}
	}
	if level := rms(pcm); level <= noiseRMS {
		t.Errorf("the phone heard only noise (RMS %.1f, %d bytes)", level, len(pcm))
	}
	share := toneShare(pcm, rate, 440)
	if share > 0.5 {
		t.Errorf("received audio is mostly the phone's own 440 Hz tone (share %.2f), not speech", share)
	}
	t.Logf("received audio RMS %.0f (16-bit full scale 32767) at %d Hz, 440 Hz share %.3f", rms(pcm), rate, share)

	phone.sendDTMF('1')
	time.Sleep(500 * time.Millisecond) // let the first digit's event end before the next
	phone.sendDTMF('#')
	gather, ok := hook.wait("gather", 20*time.Second)
	if !ok {
		t.Fatalf("no gather callback; got %v", hook.types())
	}
	if gather["digits"] != "1" || gather["terminatingDigit"] != "#" {
		t.Errorf("gather: %v", gather)
	}

	if by == byPhone {
		phone.hangup()
	}
	if !phone.waitClosed(20 * time.Second) {
		t.Errorf("the phone did not see the call end (%s hangs up)", by)
	}
	disc, ok := hook.wait("disconnect", 20*time.Second)
	if !ok {
		t.Fatalf("no disconnect callback; got %v", hook.types())
	}
	if disc["cause"] != "hangup" {
		t.Errorf("disconnect: %v", disc)
	}
	want := "in" // the phone's BYE
	if by == byServer {
		want = "out"
	}
	if dir, answered := s.bye(callID); dir != want || !answered {
		t.Errorf("BYE direction %q (answered 200: %v), want %q: %s hangs up", dir, answered, want, by)
	}
	return callID
}

// bye finds the BYE in an ended call's SIP trace: its direction ("in": the
// phone's) and whether the other side answered it 200. The call log is
// written as the call ends, so it is polled for a while.
func (s *server) bye(callID string) (direction string, answered bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if trace, code := s.sipTrace(callID); code == 200 {
			if direction, answered = byeOf(trace); answered {
				return direction, answered
			}
		}
		if time.Now().After(deadline) {
			return direction, answered
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// byeOf is bye on one trace.
func byeOf(trace []traceMessage) (direction string, answered bool) {
	for _, m := range trace {
		if strings.HasPrefix(m.Message, "BYE ") {
			direction = m.Direction
		}
	}
	for _, m := range trace {
		if direction != "" && m.Direction != direction && strings.HasPrefix(m.Message, "SIP/2.0 200") && cseqMethod(m.Message) == "BYE" {
			answered = true
		}
	}
	return direction, answered
}

// cseqMethod is the method of a SIP message's CSeq header.
func cseqMethod(msg string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "CSeq") {
			if f := strings.Fields(value); len(f) == 2 {
				return f[1]
			}
		}
	}
	return ""
}

// Softphones configured with the recipes in examples/softphones call an
// application of a server started with its default flags: each connects,
// hears the text-to-speech, has its keys gathered, and hangs up or is hung
// up on.
func TestSoftphones(t *testing.T) {
	testenv.LookTool(t, "espeak-ng")
	phones := []struct {
		name string
		// host is what the phone knows the server by: the SIP domain, or
		// for baresip 1.x its address, since baresip resolves names by DNS
		// alone (never /etc/hosts) and no DNS server answers for localhost
		// everywhere; the host part of the URI is not checked (the digest
		// realm comes from the challenge), as the recipe's README says.
		host  func(s *server) string
		start func(t *testing.T, v recipeValues) softphone
		// onlyByPhone: the hangup from the server is the G.711 phones'
		// check; a codec's phone needs one call.
		onlyByPhone bool
	}{
		{"baresip", func(*server) string { return "127.0.0.1" }, func(t *testing.T, v recipeValues) softphone {
			return startBaresip(t, recipe(t, "softphones/baresip/accounts", v))
		}, false},
		// The same phone speaking only Opus, then only G.722: the server
		// answers in that codec and its TTS, Gather and DTMF work there.
		{"baresip-opus", func(*server) string { return "127.0.0.1" }, func(t *testing.T, v recipeValues) softphone {
			return startWidebandBaresip(t, v, "opus")
		}, true},
		{"baresip-g722", func(*server) string { return "127.0.0.1" }, func(t *testing.T, v recipeValues) softphone {
			return startWidebandBaresip(t, v, "g722")
		}, true},
		{"linphonec", func(s *server) string { return s.domain }, func(t *testing.T, v recipeValues) softphone {
			return startLinphone(t, recipe(t, "softphones/linphone/linphonerc", v))
		}, false},
	}
	for _, p := range phones {
		for _, by := range []hangupBy{byPhone, byServer} {
			if p.onlyByPhone && by == byServer {
				continue
			}
			t.Run(p.name+"/"+string(by)+"_hangs_up", func(t *testing.T) {
				s := startDefaultServer(t)
				softphoneCall(t, s, by, func(appID, password string) (softphone, string) {
					v := recipeValues{appID: appID, password: password, domain: p.host(s), port: s.sipPort()}
					return p.start(t, v), "sip:" + appID + "@" + v.domain + ":" + v.port
				})
			})
		}
	}
}
