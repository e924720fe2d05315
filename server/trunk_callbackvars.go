package server

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/wasmvoice/wasmvoice/callflow"
)

// Call variables on webhook callbacks. Wasm events carry a call's variables
// in their "variables" field (DESIGN.md); a webhook callback's JSON body
// must stay exactly the Bandwidth callback (no field the spec does not
// define), so the variables travel beside it, in one request header:
//
//	X-Wasmvoice-Variables: crm_id=42&customer=acme%20inc
//
// the variables form-encoded (application/x-www-form-urlencoded, keys
// sorted), readable with any URL query parser. Header mappings of SIP trunks
// (and a module's decisions) are how variables get set. The header is
// absent when the call has none.
const callbackVariablesHeader = "X-Wasmvoice-Variables"

// maxCallbackVariablesBytes caps the header: variables are added in key
// order while they fit, so a huge variable cannot make callbacks fail on a
// backend's header limit.
const maxCallbackVariablesBytes = 8 << 10

type callVarsKey struct{}

// withCallVariables makes callbacks sent under ctx carry the variables vars
// returns at sending time.
func withCallVariables(ctx context.Context, vars func() map[string]string) context.Context {
	return context.WithValue(ctx, callVarsKey{}, vars)
}

// callbackContext is ctx carrying the call's live variables for callbacks.
func (c *Call) callbackContext(ctx context.Context) context.Context {
	return withCallVariables(ctx, func() map[string]string {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.vars) == 0 {
			return nil
		}
		out := make(map[string]string, len(c.vars))
		for k, v := range c.vars {
			out[k] = v
		}
		return out
	})
}

// encodeCallbackVariables form-encodes vars in key order, leaving out what
// does not fit in maxCallbackVariablesBytes.
func encodeCallbackVariables(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		pair := url.QueryEscape(k) + "=" + url.QueryEscape(vars[k])
		if b.Len()+1+len(pair) > maxCallbackVariablesBytes {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// callbackVarsTransport adds the variables header to requests whose context
// carries call variables.
type callbackVarsTransport struct{ base http.RoundTripper }

func (t callbackVarsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	get, _ := r.Context().Value(callVarsKey{}).(func() map[string]string)
	if get == nil {
		return t.base.RoundTrip(r)
	}
	vars := get()
	if len(vars) == 0 {
		return t.base.RoundTrip(r)
	}
	v := encodeCallbackVariables(vars)
	if v == "" {
		return t.base.RoundTrip(r)
	}
	// A RoundTripper must not change the caller's request.
	r2 := r.Clone(r.Context())
	r2.Header.Set(callbackVariablesHeader, v)
	return t.base.RoundTrip(r2)
}

// newCallbackClient is the webhook source's HTTP client (callflow's own,
// pooled and not following redirects) with the variables header added.
func newCallbackClient() *http.Client {
	c := callflow.NewHTTPClient()
	c.Transport = callbackVarsTransport{base: c.Transport}
	return c
}
