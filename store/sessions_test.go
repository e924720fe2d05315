package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessionLifecycle(t *testing.T) { forEachEngine(t, testSessionLifecycle) }

func testSessionLifecycle(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, acct := openTestStore(t, eng)
	cred, err := s.CreateClient(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	clientID := cred.ClientID
	sess, id, err := s.CreateSession(ctx, clientID, acct.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" || sess.CSRFToken == "" || sess.CSRFToken == id {
		t.Fatalf("session %+v id %q", sess, id)
	}
	got, err := s.LookupSession(ctx, id)
	if err != nil || got.ClientID != clientID || got.AccountID != acct.ID || got.CSRFToken != sess.CSRFToken {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	for _, bad := range []string{"", id + "x", sess.CSRFToken} {
		if _, err := s.LookupSession(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("lookup %q: %v", bad, err)
		}
	}
	if err := s.DeleteSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupSession(ctx, id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after sign-out: %v", err)
	}

	// An expired session is gone; a client keeps a bounded number.
	_, old, err := s.CreateSession(ctx, clientID, acct.ID, -time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupSession(ctx, old); !errors.Is(err, ErrNoSession) {
		t.Fatalf("expired: %v", err)
	}
	for range maxSessionsPerClient + 5 {
		if _, _, err := s.CreateSession(ctx, clientID, acct.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM console_sessions"); err != nil || n != maxSessionsPerClient {
		t.Fatalf("sessions kept: %d %v", n, err)
	}
}
