package trunkops

import (
	"testing"

	"github.com/wasmvoice/wasmvoice/headermap"
	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/sipdest"
	"github.com/wasmvoice/wasmvoice/store"
)

// trunkTarget turns a route into the INVITE's target: the number as user
// part at the route's host, port and transport, its credentials and SRTP,
// and the outbound mappings fed by the call's variables.
func TestTrunkTarget(t *testing.T) {
	d, err := sipdest.Parse("sip:sbc.provider.test")
	if err != nil {
		t.Fatal(err)
	}
	r := store.SIPRoute{
		Destination: d.WithOverrides(5061, sipdest.TLS), HasDestination: true, SecureMedia: true,
		Username: "acme", Password: "pw",
		Headers: []headermap.Rule{
			{Type: headermap.TypeCustom, Key: "X-Customer", Value: "customer_id"},
			{Type: headermap.TypeUUI, Target: "crm_id", Purpose: "bland", Encoding: headermap.EncodingHex, Content: "id"},
			{Passthrough: true, Key: "X-Tenant", Value: "acme"},
			{Type: headermap.TypeCustom, Key: "X-Unset", Value: "missing"},
		},
	}
	got := trunkTarget(r, "+14155550100", map[string]string{"customer_id": "c-7", "crm_id": "42"})
	if got.URI != "sip:+14155550100@sbc.provider.test:5061;transport=tls" || !got.SRTP || got.Username != "acme" || got.Password != "pw" {
		t.Errorf("target %+v", got)
	}
	want := []sip.Header{
		{Name: "User-to-User", Value: "3432;encoding=hex;purpose=bland;content=id"},
		{Name: "X-Customer", Value: "c-7"},
		{Name: "X-Tenant", Value: "acme"},
	}
	if len(got.Headers) != len(want) {
		t.Fatalf("headers %v, want %v", got.Headers, want)
	}
	for i := range want {
		if got.Headers[i] != want[i] {
			t.Errorf("header %d = %v, want %v", i, got.Headers[i], want[i])
		}
	}
}

func BenchmarkTrunkTarget(b *testing.B) {
	d, _ := sipdest.Parse("sip:sbc.provider.test:5060")
	r := store.SIPRoute{Destination: d, HasDestination: true, Headers: []headermap.Rule{
		{Type: headermap.TypeCustom, Key: "X-Customer", Value: "customer_id"},
		{Passthrough: true, Key: "X-Tenant", Value: "acme"},
	}}
	vars := map[string]string{"customer_id": "c-7"}
	for b.Loop() {
		trunkTarget(r, "+14155550100", vars)
	}
}
