package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func openTestStore(t *testing.T, eng testEngine) (*Store, Account) {
	t.Helper()
	s, err := eng.open(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, err := s.CreateAccount(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func TestAPIKeyLifecycle(t *testing.T) { forEachEngine(t, testAPIKeyLifecycle) }

func testAPIKeyLifecycle(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	k, key, err := s.CreateAPIKey(ctx, acct.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) < 40 || k.AccountID != acct.ID || k.Name != "ci" {
		t.Fatalf("created %+v %q", k, key)
	}
	got, err := s.VerifyAPIKey(ctx, key)
	if err != nil || got.ID != k.ID || got.AccountID != acct.ID || !got.CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("verify: %+v %v", got, err)
	}
	for _, bad := range []string{"", "wvk_", key + "x", "Bearer " + key, strings.TrimPrefix(key, APIKeyPrefix), APIKeyPrefix + strings.Repeat("a", 200)} {
		if _, err := s.VerifyAPIKey(ctx, bad); !errors.Is(err, ErrBadAPIKey) {
			t.Errorf("verify %q: %v", bad, err)
		}
	}
	// The key is stored only as a hash.
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM api_keys WHERE key_hash = ? OR id = ?"), key, key); err != nil || n != 0 {
		t.Fatalf("key stored in clear: %d %v", n, err)
	}
	ks, err := s.APIKeys(ctx, acct.ID)
	if err != nil || len(ks) != 1 || ks[0].ID != k.ID {
		t.Fatalf("list: %+v %v", ks, err)
	}
	if err := s.DeleteAPIKey(ctx, "other", k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account deletes: %v", err)
	}
	if err := s.DeleteAPIKey(ctx, acct.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAPIKey(ctx, key); !errors.Is(err, ErrBadAPIKey) {
		t.Fatalf("deleted key still verifies: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, "missing", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key for missing account: %v", err)
	}
	var ve *ValidationError
	if _, _, err := s.CreateAPIKey(ctx, acct.ID, strings.Repeat("n", 257)); !errors.As(err, &ve) || ve.Field != "name" {
		t.Fatalf("long name: %v", err)
	}
}
