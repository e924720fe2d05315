package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

func openTestBucket(t *testing.T, prefix string) (*Media, testenv.S3Server) {
	t.Helper()
	srv := testenv.StartS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	c, err := ParseS3URL(srv.URL(prefix))
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenS3(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return NewMedia(b, nil), srv
}

// A finished recording goes to the bucket under the prefix, is served,
// fetched to a temporary local file and removed from there; the local copy
// goes once the caller discards it.
func TestMediaS3(t *testing.T) {
	ctx := context.Background()
	m, srv := openTestBucket(t, "node-a")
	dir := filepath.Join(t.TempDir(), "recordings", "acct", "c-1")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r-1.wav")
	body := strings.Repeat("RIFF-recording-", 10000) // 150 kB
	if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	ref, err := m.Keep(ctx, RecordingKey("acct", "c-1", "r-1.wav"), path, ContentType("wav"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "s3://recordings/node-a/recordings/acct/c-1/r-1.wav"; ref != want {
		t.Fatalf("reference %q, want %q", ref, want)
	}
	onDisk, err := os.ReadFile(filepath.Join(srv.Root, "recordings", "node-a", "recordings", "acct", "c-1", "r-1.wav"))
	if err != nil || string(onDisk) != body {
		t.Fatalf("the object behind the server: %d bytes, %v", len(onDisk), err)
	}
	m.Discard(path, ref)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the uploaded recording's local file and directory stay: %v", err)
	}
	r, size, err := m.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != body || size != int64(len(body)) {
		t.Fatalf("Open: %d bytes (size %d), %v", len(got), size, err)
	}
	local, release, err := m.Local(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(local); string(b) != body || filepath.Ext(local) != ".wav" {
		t.Fatalf("Local: %s with %d bytes", local, len(b))
	}
	release()
	if _, err := os.Stat(local); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("release left the temporary file: %v", err)
	}
	if err := m.Remove(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Open(ctx, ref); !errors.Is(err, ErrMediaNotFound) {
		t.Fatalf("Open after Remove: %v, want ErrMediaNotFound", err)
	}
	if err := m.Remove(ctx, ref); err != nil {
		t.Fatalf("removing an object already gone: %v", err)
	}
}

// A wrong bucket or wrong keys fail the start, with a message that says so.
func TestOpenS3Refuses(t *testing.T) {
	srv := testenv.StartS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	c, err := ParseS3URL("s3://nosuchbucket?endpoint=" + srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenS3(context.Background(), c); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	c, _ = ParseS3URL(srv.URL(""))
	if _, err := OpenS3(context.Background(), c); err == nil {
		t.Fatal("wrong secret accepted")
	}
}
