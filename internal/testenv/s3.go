package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// S3Server is a real S3-compatible server (versitygw over a directory)
// running for one test.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Bucket    string // created empty
	Root      string // the directory behind it: Root/Bucket/key
}

// URL is the --recording-storage value naming the bucket, under prefix.
func (s S3Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + prefix + "?endpoint=" + s.Endpoint
}

// StartS3 starts versitygw (its posix backend over a temporary directory)
// on a free port of 127.0.0.1 with one empty bucket, and stops it when the
// test ends. versitygw is built from the Go module proxy by .ci/run; a
// missing binary skips locally and fails under CI, as every tool does.
func StartS3(t testing.TB) S3Server {
	t.Helper()
	bin := LookTool(t, "versitygw")
	root := t.TempDir()
	s := S3Server{AccessKey: "wvtestaccess", SecretKey: "wvtestsecret-" + strconv.Itoa(os.Getpid()), Bucket: "recordings", Root: root}
	// The posix backend serves each directory under its root as a bucket.
	if err := os.Mkdir(filepath.Join(root, s.Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	port := FreeTCPPort(t)
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--quiet",
		"--port", fmt.Sprintf("127.0.0.1:%d", port), "--health", "/healthz", "posix", "--nometa", root)
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not answer on %s: %v", s.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
