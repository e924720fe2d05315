package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// A recording is written to a local file while it runs (the media clock
// appends to it every 20 ms, which no object store does cheaply). Once it
// is finished, Keep hands it to where finished recordings live: the local
// directory (the default: the file stays where it is) or an S3-compatible
// bucket, so that any node serves any recording and a node that dies loses
// none that were finished.
//
// What the store keeps as a recording's file_path is a reference: a local
// absolute path, or "s3://bucket/key". Every reference names its backend,
// so rows written before a node moved to S3 are still served.

// ErrMediaNotFound is returned when a reference names nothing.
var ErrMediaNotFound = errors.New("recording media not found")

// Media is where finished recordings live.
type Media struct {
	remote *S3 // nil: recordings stay in the local directory
	log    *slog.Logger
}

// NewMedia returns the recording media of a node: local files, plus the
// bucket when remote is not nil.
func NewMedia(remote *S3, log *slog.Logger) *Media {
	if log == nil {
		log = slog.Default()
	}
	return &Media{remote: remote, log: log.With("caller", "recording-storage")}
}

// Remote reports whether finished recordings go to a bucket.
func (m *Media) Remote() bool { return m != nil && m.remote != nil }

// Keep stores a finished recording's local file under key (a relative,
// slash-separated name such as "recordings/ACCOUNT/CALL/ID.wav") and
// returns the reference to index. Locally the file stays and its path is
// the reference. With a bucket the file is uploaded; the caller removes the
// local copy once the reference is indexed (Discard), so a crash in between
// leaves the file, never nothing.
func (m *Media) Keep(ctx context.Context, key, path, contentType string) (string, error) {
	if !m.Remote() {
		return path, nil
	}
	ref, err := m.remote.Put(ctx, key, path, contentType)
	if err != nil {
		return "", fmt.Errorf("upload recording %s: %w", key, err)
	}
	return ref, nil
}

// Open returns the media a reference names and its size.
func (m *Media) Open(ctx context.Context, ref string) (io.ReadCloser, int64, error) {
	if bucket, key, ok := parseS3Ref(ref); ok {
		if !m.Remote() {
			return nil, 0, fmt.Errorf("%s: this node has no --recording-storage bucket: %w", ref, ErrMediaNotFound)
		}
		return m.remote.Open(ctx, bucket, key)
	}
	f, err := os.Open(ref)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("recording file: %w", ErrMediaNotFound)
		}
		return nil, 0, fmt.Errorf("recording file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("recording file: %w", err)
	}
	return f, st.Size(), nil
}

// Remove deletes the media a reference names; media already gone is not
// an error. A local file's directory (one per call) goes too once empty.
func (m *Media) Remove(ctx context.Context, ref string) error {
	if ref == "" {
		return nil
	}
	if bucket, key, ok := parseS3Ref(ref); ok {
		if !m.Remote() {
			return fmt.Errorf("%s: this node has no --recording-storage bucket", ref)
		}
		return m.remote.Remove(ctx, bucket, key)
	}
	if err := os.Remove(ref); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove recording file: %w", err)
	}
	// Only removes an empty directory: other recordings of the call stay.
	os.Remove(filepath.Dir(ref))
	return nil
}

// Local returns a local file with the media a reference names, for tools
// that read files (the speech-to-text engines), and a release function to
// call when done. A local reference is returned as it is; a remote one is
// downloaded to a temporary file that release removes.
func (m *Media) Local(ctx context.Context, ref string) (string, func(), error) {
	if _, _, ok := parseS3Ref(ref); !ok {
		return ref, func() {}, nil
	}
	r, _, err := m.Open(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	ext := filepath.Ext(ref)
	f, err := os.CreateTemp("", "wasmvoice-recording-*"+ext)
	if err != nil {
		return "", nil, fmt.Errorf("recording temp file: %w", err)
	}
	release := func() { os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		release()
		return "", nil, fmt.Errorf("download %s: %w", ref, err)
	}
	if err := f.Close(); err != nil {
		release()
		return "", nil, fmt.Errorf("recording temp file: %w", err)
	}
	return f.Name(), release, nil
}

// Discard removes the local file of a recording Keep uploaded, once its
// reference is indexed. It does nothing when the reference is the file.
func (m *Media) Discard(path, ref string) {
	if ref == path || path == "" {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.Warn("remove uploaded recording's local file", "path", path, "error", err)
		return
	}
	os.Remove(filepath.Dir(path))
}

// ContentType is the media type of a recording's file format.
func ContentType(format string) string {
	if format == "mp3" {
		return "audio/mpeg"
	}
	return "audio/vnd.wave"
}

// RecordingKey is the key of a recording's media in a bucket, the same
// layout as the local directory: recordings/ACCOUNT/CALL/FILE.
func RecordingKey(accountID, callID, file string) string {
	return strings.Join([]string{"recordings", accountID, callID, file}, "/")
}

// parseS3Ref splits "s3://bucket/key".
func parseS3Ref(ref string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(ref, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(rest, "/")
	return bucket, key, ok && bucket != "" && key != ""
}
