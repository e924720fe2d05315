package callflow

import (
	"net/url"
	"sort"
	"strings"
)

// VariablesHeader carries a call's variables on webhook callbacks. Module
// events carry them in their "variables" field (DESIGN.md); a webhook
// callback's JSON body must stay exactly the Bandwidth callback (no field the
// spec does not define), so the variables travel beside it, in one request
// header:
//
//	X-Wasmvoice-Variables: crm_id=42&customer=acme%20inc
//
// form-encoded (application/x-www-form-urlencoded, keys sorted), readable
// with any URL query parser. SIP trunks' header mappings and modules'
// decisions set variables. The header is absent when the call has none.
const VariablesHeader = "X-Wasmvoice-Variables"

// maxVariablesBytes caps the header: variables are added in key order while
// they fit, so a huge variable cannot make callbacks fail on a backend's
// header limit.
const maxVariablesBytes = 8 << 10

// encodeVariables form-encodes vars in key order, leaving out what does not
// fit in maxVariablesBytes.
func encodeVariables(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		pair := url.QueryEscape(k) + "=" + url.QueryEscape(vars[k])
		if b.Len()+1+len(pair) > maxVariablesBytes {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}
