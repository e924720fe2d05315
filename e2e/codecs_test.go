package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// widebandPhone is a baresip restricted to one codec other than G.711.
type widebandPhone struct {
	name, module string
	codecs       string // baresip's audio_codecs: name/rate/channels, as its codec registers
}

var widebandPhones = []widebandPhone{{"opus", "opus.so", "opus/48000/2"}, {"g722", "g722.so", "G722/16000/1"}}

// account is the recipe's account with the codec list replaced.
func (w widebandPhone) account(t *testing.T, v recipeValues) string {
	return strings.Replace(recipe(t, "softphones/baresip/accounts", v),
		"audio_codecs=PCMU/8000/1,PCMA/8000/1", "audio_codecs="+w.codecs, 1)
}

// config loads the codec's module; baresip's Opus runs at 48 kHz stereo and
// its aufile microphone is 8 kHz mono, so baresip resamples the source.
func (w widebandPhone) config() []string {
	return []string{"module " + w.module, "ausrc_srate 8000", "ausrc_channels 1"}
}

// startWidebandBaresip starts the recipe's baresip speaking only the codec
// of widebandPhones named name.
func startWidebandBaresip(t *testing.T, v recipeValues, name string) *baresip {
	t.Helper()
	for _, w := range widebandPhones {
		if w.name == name {
			return startBaresipWith(t, w.account(t, v), baresipOptions{extra: w.config()})
		}
	}
	t.Fatalf("no wideband phone %q", name)
	return nil
}

// A phone that speaks only Opus (or only G.722) talks through the server to
// a phone that speaks only PCMU: the server answers the caller in its codec,
// offers the callee its codecs, and the bridge between legs that share no
// codec transcodes. Each phone sends its own tone (1000 Hz from the
// wideband phone, 600 Hz from the PCMU one) and must hear the other's, and a
// digit the wideband phone presses reaches the PCMU one.
func TestTranscodingBetweenPhones(t *testing.T) {
	for _, tc := range widebandPhones {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			callee := startBaresipWith(t, "<sip:callee@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1\n",
				baresipOptions{micHz: 600})
			hook := newHook(t, func(path string, _ map[string]any) string {
				if path == "/initiate" {
					return fmt.Sprintf(`<Response><Transfer><SipUri>sip:callee@127.0.0.1:%d</SipUri></Transfer></Response>`, callee.sipPort)
				}
				return ""
			})
			appID, pw := s.app(map[string]any{"callInitiatedCallbackUrl": hook.url("/initiate"), "callStatusCallbackUrl": hook.url("/status")},
				map[string]any{"inboundSipCallsEnabled": true, "passwordAuthEnabled": true})
			var callID string
			s.traceOnFailure(&callID)
			v := recipeValues{appID: appID, password: pw, domain: "127.0.0.1", port: s.sipPort()}
			caller := startBaresipWith(t, tc.account(t, v), baresipOptions{micHz: 1000, extra: tc.config()})
			caller.dial("sip:" + appID + "@127.0.0.1:" + s.sipPort())
			if !caller.waitConnected(30 * time.Second) {
				t.Fatalf("the call did not connect; callbacks %v", hook.types())
			}
			if initiate, ok := hook.wait("initiate", 5*time.Second); ok {
				callID, _ = initiate["callId"].(string)
			}
			if !callee.waitConnected(30 * time.Second) {
				t.Fatal("the transfer did not reach the PCMU phone")
			}
			heardBy := func(p *baresip, hz int) (share, level float64) {
				for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
					pcm, rate := p.heard()
					if share, level = toneShare(pcm, rate, hz), rms(pcm); share > 0.5 && level > noiseRMS {
						break
					}
				}
				return share, level
			}
			if share, level := heardBy(caller, 600); share < 0.5 || level <= noiseRMS {
				t.Errorf("the %s phone did not hear the PCMU phone's 600 Hz: share %.2f, RMS %.0f", tc.name, share, level)
			} else {
				t.Logf("%s phone heard 600 Hz: share %.2f, RMS %.0f", tc.name, share, level)
			}
			if share, level := heardBy(callee, 1000); share < 0.5 || level <= noiseRMS {
				t.Errorf("the PCMU phone did not hear the %s phone's 1000 Hz: share %.2f, RMS %.0f", tc.name, share, level)
			} else {
				t.Logf("PCMU phone heard 1000 Hz: share %.2f, RMS %.0f", share, level)
			}
			// Each phone really used its own codec: no common one to pass through.
			for _, c := range []struct {
				p    *baresip
				want string
			}{{caller, strings.Split(tc.codecs, "/")[0]}, {callee, "PCMU"}} {
				c.p.mu.Lock()
				log := c.p.log.String()
				c.p.mu.Unlock()
				if !strings.Contains(log, "Set audio encoder: "+c.want) {
					t.Errorf("a phone did not encode %s:\n%s", c.want, lastLines(log, 30))
				}
			}
			// RFC 4733 digits cross the transcoding bridge (payload type,
			// timestamps and durations moved to the PCMU leg's clock).
			caller.sendDTMF('5')
			if ev, ok := callee.waitEvent("CALL_DTMF_START", 10*time.Second); !ok {
				t.Error("the PCMU phone got no DTMF from the " + tc.name + " phone")
			} else if ev["param"] != "5" {
				t.Errorf("the PCMU phone got DTMF %v, want 5", ev)
			}
			caller.hangup()
			if !callee.waitClosed(20 * time.Second) {
				t.Error("the PCMU phone did not see the call end")
			}
		})
	}
}
