package bandwidthclient

import (
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// The client drives the real binary in e2e/bandwidthclient_test.go; here it
// is only checked to be what the spec generates today.
func TestGeneratedClientIsCurrent(t *testing.T) {
	testenv.GeneratedIsCurrent(t, "../../reference/bandwidth-voice-api.yml")
}
