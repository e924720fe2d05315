package storage

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a bucket of an S3-compatible server (AWS S3, MinIO, SeaweedFS,
// versitygw, Ceph RGW...) holding finished recordings. minio-go speaks the
// protocol (signing, multipart upload of long recordings, retries).
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // key prefix inside the bucket, "" or ending in "/"
}

// S3Config is parsed from --recording-storage.
type S3Config struct {
	Endpoint string // host:port
	Secure   bool   // https
	Region   string
	Bucket   string
	Prefix   string
	// Credentials: from the environment (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, or MINIO_ROOT_USER and MINIO_ROOT_PASSWORD),
	// never from a flag a process listing would show.
	Credentials *credentials.Credentials
}

// ParseS3URL reads a --recording-storage value:
//
//	s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT[&region=REGION]
//
// The endpoint's scheme says whether to use TLS (https is the default
// when it has none); region defaults to us-east-1.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Config{}, fmt.Errorf("recording storage %q: %w", raw, err)
	}
	if u.Scheme != "s3" || u.Host == "" {
		return S3Config{}, fmt.Errorf("recording storage %q: want s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT", raw)
	}
	if u.User != nil {
		return S3Config{}, fmt.Errorf("recording storage %q: credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL", u.Redacted())
	}
	q := u.Query()
	ep := q.Get("endpoint")
	if ep == "" {
		return S3Config{}, fmt.Errorf("recording storage %q: the endpoint parameter is required (e.g. endpoint=https://s3.us-east-1.amazonaws.com)", raw)
	}
	c := S3Config{Bucket: u.Host, Region: q.Get("region"), Secure: true}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if e, err := url.Parse(ep); err == nil && e.Host != "" {
		c.Endpoint, c.Secure = e.Host, e.Scheme != "http"
	} else {
		c.Endpoint = ep
	}
	if _, _, err := net.SplitHostPort(c.Endpoint); err != nil && !strings.Contains(c.Endpoint, ".") {
		return S3Config{}, fmt.Errorf("recording storage endpoint %q: want HOST:PORT or a host name", ep)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		c.Prefix = p + "/"
	}
	c.Credentials = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	return c, nil
}

// s3Timeout bounds one request's connection and headers; a body moves as
// long as it moves, bounded by the caller's context.
const s3Timeout = 15 * time.Second

// OpenS3 connects to the bucket and checks that it exists, so a wrong
// endpoint, bucket or key fails the start instead of the first recording.
func OpenS3(ctx context.Context, c S3Config) (*S3, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: s3Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   s3Timeout,
		ResponseHeaderTimeout: s3Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds: c.Credentials, Secure: c.Secure, Region: c.Region, Transport: tr,
		BucketLookup: minio.BucketLookupPath, // works with every S3-compatible server, not only virtual-host ones
	})
	if err != nil {
		return nil, fmt.Errorf("recording storage %s: %w", c.Endpoint, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	ok, err := client.BucketExists(cctx, c.Bucket)
	if err != nil {
		return nil, fmt.Errorf("recording storage %s: bucket %s: %w", c.Endpoint, c.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("recording storage %s: bucket %s does not exist (create it first)", c.Endpoint, c.Bucket)
	}
	return &S3{client: client, bucket: c.Bucket, prefix: c.Prefix}, nil
}

// Put uploads a local file under key and returns its reference.
func (s *S3) Put(ctx context.Context, key, file, contentType string) (string, error) {
	full := s.prefix + key
	if _, err := s.client.FPutObject(ctx, s.bucket, full, file, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return "", err
	}
	return "s3://" + path.Join(s.bucket, full), nil
}

// Open returns an object's body and size.
func (s *S3) Open(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error) {
	obj, err := s.client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("recording s3://%s/%s: %w", bucket, key, err)
	}
	// GetObject is lazy: Stat makes the request and tells a missing key.
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil, 0, fmt.Errorf("recording s3://%s/%s: %w", bucket, key, ErrMediaNotFound)
		}
		return nil, 0, fmt.Errorf("recording s3://%s/%s: %w", bucket, key, err)
	}
	return obj, st.Size, nil
}

// Remove deletes an object; a missing one is not an error (S3 says so too).
func (s *S3) Remove(ctx context.Context, bucket, key string) error {
	err := s.client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).StatusCode != http.StatusNotFound {
		return fmt.Errorf("remove recording s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
