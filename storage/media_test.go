package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		in                               string
		endpoint, bucket, prefix, region string
		secure                           bool
		err                              string
	}{
		{in: "s3://rec?endpoint=http://127.0.0.1:7070", endpoint: "127.0.0.1:7070", bucket: "rec", region: "us-east-1"},
		{in: "s3://rec/node-a/?endpoint=https://s3.eu-west-1.amazonaws.com&region=eu-west-1",
			endpoint: "s3.eu-west-1.amazonaws.com", bucket: "rec", prefix: "node-a/", region: "eu-west-1", secure: true},
		{in: "s3://rec?endpoint=minio.internal:9000", endpoint: "minio.internal:9000", bucket: "rec", region: "us-east-1", secure: true},
		{in: "s3://rec", err: "endpoint parameter is required"},
		{in: "http://rec?endpoint=x:1", err: "want s3://"},
		{in: "s3://key:secret@rec?endpoint=x:1", err: "not in the URL"},
	} {
		c, err := ParseS3URL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one with %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: the error shows the secret: %v", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if c.Endpoint != tc.endpoint || c.Bucket != tc.bucket || c.Prefix != tc.prefix || c.Region != tc.region || c.Secure != tc.secure {
			t.Errorf("%s: got %+v", tc.in, c)
		}
	}
}

// Without a bucket a recording stays where it was written, and the local
// reference is served, fetched and removed like any other.
func TestMediaLocal(t *testing.T) {
	ctx := context.Background()
	m := NewMedia(nil, nil)
	dir := filepath.Join(t.TempDir(), "recordings", "acct", "c-1")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r-1.wav")
	if err := os.WriteFile(path, []byte("RIFF0000WAVE"), 0o640); err != nil {
		t.Fatal(err)
	}
	ref, err := m.Keep(ctx, RecordingKey("acct", "c-1", "r-1.wav"), path, ContentType("wav"))
	if err != nil || ref != path {
		t.Fatalf("Keep = %q, %v; want the local path", ref, err)
	}
	m.Discard(path, ref) // the reference is the file: it stays
	r, size, err := m.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "RIFF0000WAVE" || size != 12 {
		t.Fatalf("Open read %q, size %d", b, size)
	}
	local, release, err := m.Local(ctx, ref)
	if err != nil || local != path {
		t.Fatalf("Local = %q, %v", local, err)
	}
	release()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("release removed the recording itself: %v", err)
	}
	if err := m.Remove(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the call's empty directory is left: %v", err)
	}
	if err := m.Remove(ctx, ref); err != nil {
		t.Fatalf("removing media already gone: %v", err)
	}
	if _, _, err := m.Open(ctx, ref); !errors.Is(err, ErrMediaNotFound) {
		t.Fatalf("Open of removed media: %v, want ErrMediaNotFound", err)
	}
	// A bucket reference on a node without a bucket is not found, clearly.
	if _, _, err := m.Open(ctx, "s3://rec/recordings/a/c/r.wav"); !errors.Is(err, ErrMediaNotFound) || !strings.Contains(err.Error(), "--recording-storage") {
		t.Fatalf("Open of a bucket reference without a bucket: %v", err)
	}
}
