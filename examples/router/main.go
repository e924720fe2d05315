// Command router is a wasmvoice sip.inbound module: a caller allowlist and
// router. The caller is the user part of the From URI.
//
//   - key "route:<caller>" in the application's key-value store: the call
//     goes to that application (same account) instead;
//
//   - key "allow:<caller>" present, or the caller in Allow: the call
//     continues, tagged with the variable "caller";
//
//   - anyone else gets 403 Caller Not Allowed.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o router.wasm .
package main

import (
	"slices"
	"strings"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// Allow are callers let through without a key-value entry.
var Allow = []string{"+15550001111"}

func init() {
	sdk.On(sdk.EventSIPInbound, func(ev sdk.Event) sdk.Decision {
		caller := CallerUser(ev.SIP.From)
		if app, ok := kv("route:" + caller); ok {
			sdk.Logf(sdk.LevelInfo, "routing %s to %s", caller, app)
			return sdk.Route(app).SetVariable("caller", caller)
		}
		if _, ok := kv("allow:" + caller); ok || slices.Contains(Allow, caller) {
			return sdk.Continue().SetVariable("caller", caller)
		}
		sdk.Logf(sdk.LevelInfo, "refusing %s", caller)
		return sdk.Reject(403, "Caller Not Allowed")
	})
}

func kv(key string) (string, bool) {
	v, ok, err := sdk.KVGet(key)
	if err != nil {
		sdk.Logf(sdk.LevelWarn, "kv %s: %v", key, err)
		return "", false
	}
	return string(v), ok
}

// CallerUser is the user part of a From header value such as
// `"Alice" <sip:+15550001111@example.com>;tag=1`.
func CallerUser(from string) string {
	if i := strings.IndexByte(from, '<'); i >= 0 {
		from = from[i+1:]
		if j := strings.IndexByte(from, '>'); j >= 0 {
			from = from[:j]
		}
	}
	from = strings.TrimPrefix(strings.TrimPrefix(from, "sips:"), "sip:")
	if at := strings.IndexByte(from, '@'); at >= 0 {
		return from[:at]
	}
	if semi := strings.IndexByte(from, ';'); semi >= 0 {
		return from[:semi]
	}
	return from
}

func main() {}
