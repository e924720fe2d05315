package apiclient

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/server"
)

func TestGeneratedClientIsCurrent(t *testing.T) {
	testenv.GeneratedIsCurrent(t, "../../openapi.yaml")
}

func TestGeneratedClientProvisionsAnApplication(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, server.Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", SIPDomain: "sip.example.test",
		Region: "US", RTPPorts: "65400-65500", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	creds := srv.FirstCredentials

	c, err := NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	basic := func(_ context.Context, r *http.Request) error {
		r.SetBasicAuth(creds.ClientID, creds.ClientSecret)
		return nil
	}
	tok, err := c.CreateTokenWithFormdataBodyWithResponse(ctx, &CreateTokenParams{}, CreateTokenFormdataRequestBody{GrantType: ClientCredentials}, basic)
	if err != nil || tok.JSON200 == nil {
		t.Fatalf("token: %v %s", err, tok.Body)
	}
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok.JSON200.AccessToken)
		return nil
	}
	cb := "https://example.com/voice"
	created, err := c.CreateVoiceApplicationWithResponse(ctx, creds.AccountID, VoiceApplicationCreate{ApplicationName: "generated", CallInitiatedCallbackUrl: &cb}, bearer)
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	id := created.JSON201.Data.ApplicationId.String()
	yes := true
	ips := []string{"203.0.113.0/24"}
	patched, err := c.UpdateVoiceApplicationWithResponse(ctx, creds.AccountID, id, VoiceApplicationPatch{InboundSipCallsEnabled: &yes, PasswordAuthEnabled: &yes, AllowedSourceIps: &ips}, bearer)
	if err != nil || patched.JSON200 == nil {
		t.Fatalf("patch: %v %s", err, patched.Body)
	}
	if patched.JSON200.Data.SipAuthPassword == nil || *patched.JSON200.Data.SipAuthPassword == "" {
		t.Fatal("no sipAuthPassword in the enabling response")
	}
	got, err := c.GetVoiceApplicationWithResponse(ctx, creds.AccountID, id, bearer)
	if err != nil || got.JSON200 == nil {
		t.Fatalf("get: %v %s", err, got.Body)
	}
	d := got.JSON200.Data
	// The node's SIP port (bound at random here, so not 5060) is part of the URI.
	if d.SipUri == nil || !regexp.MustCompile(`^sip:`+id+`@sip\.example\.test:[0-9]+$`).MatchString(*d.SipUri) || !d.InboundSipCallsEnabled || d.SipAuthPassword != nil {
		t.Fatalf("read back: %+v", d)
	}
	// The application's key-value store, which its Wasm modules read; the
	// client percent-encodes the key's slash.
	uri := "sip:sales@pbx.example.com"
	put, err := c.PutKVEntryWithResponse(ctx, creds.AccountID, id, "menu/sales_uri", KVPut{Value: &uri}, bearer)
	if err != nil || put.JSON200 == nil {
		t.Fatalf("put kv: %v %s", err, put.Body)
	}
	kv, err := c.GetKVEntryWithResponse(ctx, creds.AccountID, id, "menu/sales_uri", bearer)
	if err != nil || kv.JSON200 == nil || kv.JSON200.Data.Value == nil || *kv.JSON200.Data.Value != uri || kv.JSON200.Data.Key != "menu/sales_uri" {
		t.Fatalf("get kv: %v %s", err, kv.Body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
