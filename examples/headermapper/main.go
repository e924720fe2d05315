// Command headermapper is a wasmvoice SIP hook module that does what the
// Bland-style custom / uui / passthrough header rules do, in code:
//
//   - sip.inbound: decodes "User-to-User: 3432;encoding=hex;purpose=bland;content=id"
//     into the call variable named by content ("id" = "42", plus "uui" and
//     "uui_purpose"), copies the X-* headers in Passthrough into variables,
//     and injects constant variables and a constant header.
//
//   - sip.outbound: puts the call's variables back on each INVITE the server
//     sends: a User-to-User header (hex, same purpose/content), the
//     passthrough X-* headers, and constant headers.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o headermapper.wasm .
package main

import (
	"encoding/hex"
	"strings"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// Passthrough are the X-* headers carried from the inbound INVITE to the
// outbound ones, through variables named "hdr.<header>".
var Passthrough = []string{"X-Customer-Id", "X-Campaign"}

// Constant variables on every inbound call, and headers on every outbound
// INVITE.
var (
	ConstVariables = map[string]string{"mapper": "headermapper/1"}
	ConstHeaders   = map[string]string{"X-Origin": "wasmvoice"}
)

func init() {
	sdk.On(sdk.EventSIPInbound, inbound)
	sdk.On(sdk.EventSIPOutbound, outbound)
}

func inbound(ev sdk.Event) sdk.Decision {
	d := sdk.Continue()
	for k, v := range ConstVariables {
		d = d.SetVariable(k, v)
	}
	if raw := ev.SIP.Header("User-to-User"); raw != "" {
		u, err := ParseUUI(raw)
		if err != nil {
			sdk.Logf(sdk.LevelWarn, "User-to-User %q: %v", raw, err)
		} else {
			d = d.SetVariable("uui", u.Data).SetVariable("uui_purpose", u.Purpose)
			if u.Content != "" {
				d = d.SetVariable(u.Content, u.Data).SetVariable("uui_content", u.Content)
			}
		}
	}
	for _, h := range Passthrough {
		if v := ev.SIP.XHeader(h); v != "" {
			d = d.SetVariable("hdr."+h, v)
		}
	}
	return d
}

func outbound(ev sdk.Event) sdk.Decision {
	d := sdk.Continue()
	for k, v := range ConstHeaders {
		d = d.SetHeader(k, v)
	}
	if data := ev.Variable("uui"); data != "" {
		d = d.SetHeader("User-to-User", FormatUUI(UUI{Data: data, Purpose: ev.Variable("uui_purpose"), Content: ev.Variable("uui_content")}))
	}
	for _, h := range Passthrough {
		if v := ev.Variable("hdr." + h); v != "" {
			d = d.SetHeader(h, v)
		}
	}
	return d
}

// UUI is a decoded User-to-User header (RFC 7433).
type UUI struct {
	Data             string // decoded
	Purpose, Content string
}

// ParseUUI decodes "<hex>;encoding=hex;purpose=...;content=...". Without
// encoding=hex the data is taken as it is.
func ParseUUI(v string) (UUI, error) {
	parts := strings.Split(v, ";")
	u := UUI{Data: strings.TrimSpace(parts[0])}
	hexed := false
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "encoding":
			hexed = strings.EqualFold(val, "hex")
		case "purpose":
			u.Purpose = val
		case "content":
			u.Content = val
		}
	}
	if hexed {
		b, err := hex.DecodeString(u.Data)
		if err != nil {
			return UUI{}, err
		}
		u.Data = string(b)
	}
	return u, nil
}

// FormatUUI encodes u as a User-to-User header value, hex-encoded.
func FormatUUI(u UUI) string {
	s := hex.EncodeToString([]byte(u.Data)) + ";encoding=hex"
	if u.Purpose != "" {
		s += ";purpose=" + u.Purpose
	}
	if u.Content != "" {
		s += ";content=" + u.Content
	}
	return s
}

func main() {}
