package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The cache must never show an application as it was before a write made
// through the Store, nor let a caller's changes leak into it.
func TestApplicationByIDCacheFollowsWrites(t *testing.T) {
	forEachEngine(t, testApplicationByIDCacheFollowsWrites)
}

func testApplicationByIDCacheFollowsWrites(t *testing.T, eng testEngine) {
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
	app, err := s.CreateApplication(ctx, Application{AccountID: acct.ID, Name: "a", AllowedRegions: []string{"US"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ApplicationByID(ctx, app.ID) // fills the cache
	if err != nil || got.Name != "a" {
		t.Fatalf("first read: %+v, %v", got, err)
	}
	got.AllowedRegions[0] = "EU" // a caller's copy
	if again, _ := s.ApplicationByID(ctx, app.ID); again.AllowedRegions[0] != "US" {
		t.Fatalf("a caller's change reached the cache: %v", again.AllowedRegions)
	}

	app.Name, app.InboundSIPEnabled = "b", true
	if _, err := s.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ApplicationByID(ctx, app.ID); got.Name != "b" || !got.InboundSIPEnabled {
		t.Fatalf("read after update: %+v", got)
	}

	if err := s.DeleteApplication(ctx, acct.ID, app.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationByID(ctx, app.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read after delete: %v, want ErrNotFound", err)
	}
}

func TestAppCacheStaleReadAndTTL(t *testing.T) {
	var c appCache
	now := time.Now()
	_, ok, gen := c.get("x", now)
	if ok {
		t.Fatal("hit on an empty cache")
	}
	c.invalidate("x") // a write lands while the read is in flight
	c.put(Application{ID: "x", Name: "old"}, gen, now)
	if _, ok, _ := c.get("x", now); ok {
		t.Fatal("a read that began before a write was cached")
	}

	_, _, gen = c.get("x", now)
	c.put(Application{ID: "x", Name: "new"}, gen, now)
	if a, ok, _ := c.get("x", now.Add(appCacheTTL)); !ok || a.Name != "new" {
		t.Fatalf("fresh entry: %+v %v", a, ok)
	}
	if _, ok, _ := c.get("x", now.Add(appCacheTTL+time.Millisecond)); ok {
		t.Fatal("entry served past its TTL")
	}
}
