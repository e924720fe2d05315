package testenv

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Espeak returns text spoken by espeak-ng in voice at 150 words a minute,
// as the WAV file espeak-ng writes (22.05 kHz mono). The recogniser hears
// voice en-us+klatt4 best of espeak-ng's English voices.
func Espeak(t testing.TB, voice, text string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), LookTool(t, "espeak-ng"), "--stdout", "-v", voice, "-s", "150")
	cmd.Stdin = strings.NewReader(text) // through stdin: nothing in it is read as an option
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("espeak-ng -v %s: %v: %s", voice, err, stderr.String())
	}
	return out.Bytes()
}
