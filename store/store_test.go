package store

import (
	"context"
	"errors"
	"testing"
)

func TestStorePersistsAcrossReopen(t *testing.T) { forEachEngine(t, testStorePersistsAcrossReopen) }

func testStorePersistsAcrossReopen(t *testing.T, eng testEngine) {
	ctx := context.Background()
	db := eng.newDB(t)
	s, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := s.CreateClient(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	app := Application{AccountID: acct.ID, Name: "ivr", CallInitiatedMethod: "POST", CallInitiatedFallbackMethod: "POST", CallStatusCallbackMethod: "POST", CallbackPassword: "hunter2"}
	if _, err := (ApplicationPatch{InboundSIPEnabled: ptr(true), PasswordAuthEnabled: ptr(true), AllowedSourceIPs: ptr([]string{"203.0.113.0/24"})}).Apply(&app, "d"); err != nil {
		t.Fatal(err)
	}
	app, err = s.CreateApplication(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	key1, err := s.Setting(ctx, "k", func() (string, error) { return "v1", nil })
	if err != nil || key1 != "v1" {
		t.Fatal(key1, err)
	}
	s.Close()

	s, err = db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if key, _ := s.Setting(ctx, "k", func() (string, error) { return "v2", nil }); key != "v1" {
		t.Fatalf("setting regenerated: %q", key)
	}
	got, err := s.Application(ctx, acct.ID, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CallbackPassword != "hunter2" || got.SIPHA1SHA256 != app.SIPHA1SHA256 || got.AllowedSourceIPs[0] != "203.0.113.0/24" || !got.CreatedAt.Equal(app.CreatedAt) {
		t.Fatalf("round trip: %+v", got)
	}
	if a, err := s.VerifyClient(ctx, creds.ClientID, creds.ClientSecret); err != nil || a != acct.ID {
		t.Fatalf("verify: %q %v", a, err)
	}
	if _, err := s.VerifyClient(ctx, creds.ClientID, "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := s.VerifyClient(ctx, "nobody", creds.ClientSecret); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown client: %v", err)
	}
	if _, err := s.Application(ctx, "other", app.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account sees application: %v", err)
	}
	if err := s.DeleteApplication(ctx, acct.ID, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApplication(ctx, acct.ID, app.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.CreateAccount(ctx, acct.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate account: %v", err)
	}
	if _, err := s.CreateClient(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("client for missing account: %v", err)
	}
}

func TestMigrationsApplyOnce(t *testing.T) { forEachEngine(t, testMigrationsApplyOnce) }

func testMigrationsApplyOnce(t *testing.T, eng testEngine) {
	ctx := context.Background()
	db := eng.newDB(t)
	for i := 0; i < 2; i++ {
		s, err := db.open(ctx)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM schema_migrations"); err != nil {
			t.Fatal(err)
		}
		ms, _ := loadMigrations()
		if n != len(ms) {
			t.Fatalf("applied %d, have %d", n, len(ms))
		}
		s.Close()
	}
}
