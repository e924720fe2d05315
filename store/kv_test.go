package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// kvApp opens a store with one account and application.
func kvApp(t *testing.T, eng testEngine) (*Store, Application) {
	t.Helper()
	s, acct := openCallStore(t, eng)
	app, err := s.CreateApplication(context.Background(), Application{AccountID: acct, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	return s, app
}

func TestAppKV(t *testing.T) { forEachEngine(t, testAppKV) }

func testAppKV(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, app := kvApp(t, eng)
	kv := AppKV{Store: s, MaxKeys: 2}
	if _, ok, err := kv.Get(ctx, app.ID, "k"); ok || err != nil {
		t.Fatal(ok, err)
	}
	for _, k := range []string{"a", "b", "a"} {
		if err := kv.Set(ctx, app.ID, k, []byte("v-"+k)); err != nil {
			t.Fatal(k, err)
		}
	}
	if err := kv.Set(ctx, app.ID, "c", []byte("x")); !errors.Is(err, ErrKVFull) {
		t.Fatalf("third key: %v", err)
	}
	if v, ok, err := kv.Get(ctx, app.ID, "b"); !ok || err != nil || string(v) != "v-b" {
		t.Fatal(string(v), ok, err)
	}
	if err := kv.Set(ctx, "no-such-app", "k", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
}

func TestAppKVEntryPutDelete(t *testing.T) { forEachEngine(t, testAppKVEntryPutDelete) }

func testAppKVEntryPutDelete(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, app := kvApp(t, eng)
	kv := AppKV{Store: s}
	if _, err := kv.Entry(ctx, app.ID, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent entry: %v", err)
	}
	// Values are bytes: not UTF-8, and empty, come back as they went in.
	put, err := kv.Put(ctx, app.ID, "k", []byte{0xff, 0x00})
	if err != nil || put.Key != "k" || string(put.Value) != "\xff\x00" || put.UpdatedAt.IsZero() {
		t.Fatalf("put: %+v %v", put, err)
	}
	got, err := kv.Entry(ctx, app.ID, "k")
	if err != nil || string(got.Value) != "\xff\x00" || !got.UpdatedAt.Equal(put.UpdatedAt) {
		t.Fatalf("entry %+v, want %+v (%v)", got, put, err)
	}
	if e, err := kv.Put(ctx, app.ID, "k", nil); err != nil || e.Value == nil || len(e.Value) != 0 {
		t.Fatalf("empty value: %+v %v", e, err)
	}
	if v, ok, err := kv.Get(ctx, app.ID, "k"); !ok || err != nil || len(v) != 0 {
		t.Fatalf("empty value read back: %q %v %v", v, ok, err)
	}
	if err := kv.Delete(ctx, app.ID, "k"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, app.ID, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, ok, err := kv.Get(ctx, app.ID, "k"); ok || err != nil {
		t.Fatalf("deleted key still read: %v %v", ok, err)
	}

	// The entries go with their application.
	if err := kv.Set(ctx, app.ID, "gone", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApplication(ctx, app.AccountID, app.ID); err != nil {
		t.Fatal(err)
	}
	if page, err := kv.Entries(ctx, app.ID, 0, ""); err != nil || len(page.Entries) != 0 {
		t.Fatalf("entries of a deleted application: %+v %v", page, err)
	}
}

func TestAppKVEntriesPages(t *testing.T) { forEachEngine(t, testAppKVEntriesPages) }

func testAppKVEntriesPages(t *testing.T, eng testEngine) {
	ctx := context.Background()
	s, app := kvApp(t, eng)
	other, err := s.CreateApplication(ctx, Application{AccountID: app.AccountID, Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	kv := AppKV{Store: s}
	if err := kv.Set(ctx, other.ID, "k0", []byte("other")); err != nil {
		t.Fatal(err)
	}
	// Inserted out of order; "\xff" sorts last bytewise.
	keys := []string{"k3", "\xff", "k1", "k0", "k2"}
	for _, k := range keys {
		if err := kv.Set(ctx, app.ID, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	tok := ""
	for pages := 0; ; pages++ {
		if pages > len(keys) {
			t.Fatalf("paging does not end: %q", got)
		}
		page, err := kv.Entries(ctx, app.ID, 2, tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			if string(e.Value) != "v"+e.Key {
				t.Errorf("entry %q has value %q", e.Key, e.Value)
			}
			got = append(got, e.Key)
		}
		if page.NextPageToken == "" {
			break
		}
		tok = page.NextPageToken
	}
	if want := []string{"k0", "k1", "k2", "k3", "\xff"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("keys %q, want %q", got, want)
	}
	if page, err := kv.Entries(ctx, other.ID, 0, ""); err != nil || len(page.Entries) != 1 || string(page.Entries[0].Value) != "other" {
		t.Errorf("the other application's entries: %+v (%v)", page, err)
	}
	for _, bad := range []string{"!!", "="} {
		if _, err := kv.Entries(ctx, app.ID, 2, bad); !errors.Is(err, ErrBadPageToken) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}
