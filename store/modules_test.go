package store

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestModulesBindingAndDelete(t *testing.T) { forEachEngine(t, testModulesBindingAndDelete) }

func testModulesBindingAndDelete(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, err := eng.open(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	m, err := s.CreateModule(ctx, ModuleInfo{AccountID: acct.ID, Name: "ivr", ABIVersion: 1, Exports: []string{"wasmvoice_handle"}}, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != len(wasm) || len(m.SHA256) != 64 {
		t.Fatalf("module %+v", m)
	}
	got, err := s.Module(ctx, acct.ID, m.ID)
	if err != nil || got.Name != "ivr" || got.Exports[0] != "wasmvoice_handle" {
		t.Fatal(got, err)
	}
	if b, err := s.ModuleBytes(got); err != nil || string(b) != string(wasm) {
		t.Fatal(b, err)
	}
	if _, err := s.Module(ctx, "other", m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account sees the module: %v", err)
	}

	app := Application{AccountID: acct.ID, Name: "a", CallInitiatedMethod: "POST", CallInitiatedFallbackMethod: "POST", CallStatusCallbackMethod: "POST"}
	p := ApplicationPatch{Module: ModuleBindingPatch{ModuleID: &m.ID, ModuleEvents: ptr([]string{"call", "sip.inbound", "call"}), ModuleTimeoutMS: ptr(20)}}
	if _, err := p.Apply(&app, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := (ApplicationPatch{Module: ModuleBindingPatch{ModuleEvents: ptr([]string{"bogus"})}}).Apply(&app, "d"); err == nil {
		t.Fatal("unknown event kind accepted")
	}
	app, err = s.CreateApplication(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	app, err = s.ApplicationByID(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !app.Handles(ModuleEventCall) || !app.Handles(ModuleEventSIPInbound) || app.Handles(ModuleEventSIPOutbound) || app.ModuleTimeoutMS != 20 || len(app.ModuleEvents) != 2 {
		t.Fatalf("binding %+v", app.ModuleBinding)
	}
	if err := s.DeleteModule(ctx, acct.ID, m.ID); !errors.Is(err, ErrModuleInUse) {
		t.Fatalf("delete in use: %v", err)
	}
	app.ModuleID = ""
	if _, err := s.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteModule(ctx, acct.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.ModulePath(m.SHA256)); !os.IsNotExist(err) {
		t.Fatalf("module file left behind: %v", err)
	}
	if err := s.DeleteModule(ctx, acct.ID, m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
