// Package storage talks to the S3-compatible object store (MinIO): the
// platform's own client that creates and removes vendor buckets, and
// per-vendor clients whose credentials reach one bucket only.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config says where the object store is and how the platform logs in.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Secure    bool
	Region    string
}

// Admin is the platform's client: it manages buckets and hands out
// narrowed credentials.
type Admin struct {
	cfg    Config
	client *minio.Client
}

// NewAdmin returns the platform's client.
func NewAdmin(cfg Config) (*Admin, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("object store endpoint is not set (STOREFLEET_S3_ENDPOINT)")
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("object store client for %s: %w", cfg.Endpoint, err)
	}
	return &Admin{cfg: cfg, client: c}, nil
}

// Client returns the platform's own client (for platform buckets).
func (a *Admin) Client() *minio.Client { return a.client }

// Ping checks that the object store answers and the credentials work.
func (a *Admin) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := a.client.ListBuckets(ctx); err != nil {
		return fmt.Errorf("object store %s: %w", a.cfg.Endpoint, err)
	}
	return nil
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// EnsureBucket creates a bucket unless it exists.
func (a *Admin) EnsureBucket(ctx context.Context, name string) error {
	if !bucketName.MatchString(name) {
		return fmt.Errorf("invalid bucket name %q", name)
	}
	err := a.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: a.cfg.Region})
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists") {
			return nil
		}
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// BucketExists reports whether a bucket exists.
func (a *Admin) BucketExists(ctx context.Context, name string) (bool, error) {
	ok, err := a.client.BucketExists(ctx, name)
	if err != nil {
		return false, fmt.Errorf("check bucket %s: %w", name, err)
	}
	return ok, nil
}

// RemoveBucket deletes a bucket and everything in it; a missing bucket is
// not an error.
func (a *Admin) RemoveBucket(ctx context.Context, name string) error {
	ok, err := a.BucketExists(ctx, name)
	if err != nil || !ok {
		return err
	}
	objects := a.client.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	for res := range a.client.RemoveObjects(ctx, name, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return fmt.Errorf("empty bucket %s: %w", name, res.Err)
		}
	}
	if err := a.client.RemoveBucket(ctx, name); err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchBucket" {
			return nil
		}
		return fmt.Errorf("remove bucket %s: %w", name, err)
	}
	return nil
}

// ListBuckets returns the names of buckets that start with prefix.
func (a *Admin) ListBuckets(ctx context.Context, prefix string) ([]string, error) {
	all, err := a.client.ListBuckets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	var out []string
	for _, b := range all {
		if strings.HasPrefix(b.Name, prefix) {
			out = append(out, b.Name)
		}
	}
	return out, nil
}

// BucketPolicy is the session policy that limits a vendor's credentials to
// its own bucket.
func BucketPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:ListBucket","s3:ListBucketMultipartUploads"],"Resource":["arn:aws:s3:::%[1]s"]},`+
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":["arn:aws:s3:::%[1]s/*"]}]}`, bucket)
}

// VendorClient returns a client whose temporary credentials (STS
// AssumeRole with a session policy) reach only the given bucket. The
// credentials renew themselves before they expire.
func (a *Admin) VendorClient(bucket string) (*minio.Client, error) {
	if !bucketName.MatchString(bucket) {
		return nil, fmt.Errorf("invalid bucket name %q", bucket)
	}
	scheme := "http"
	if a.cfg.Secure {
		scheme = "https"
	}
	sts := (&url.URL{Scheme: scheme, Host: a.cfg.Endpoint}).String()
	creds, err := credentials.NewSTSAssumeRole(sts, credentials.STSAssumeRoleOptions{
		AccessKey:       a.cfg.AccessKey,
		SecretKey:       a.cfg.SecretKey,
		Policy:          BucketPolicy(bucket),
		Location:        a.cfg.Region,
		DurationSeconds: int((12 * time.Hour).Seconds()),
	})
	if err != nil {
		return nil, fmt.Errorf("vendor credentials for bucket %s: %w", bucket, err)
	}
	c, err := minio.New(a.cfg.Endpoint, &minio.Options{Creds: creds, Secure: a.cfg.Secure, Region: a.cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("vendor client for bucket %s: %w", bucket, err)
	}
	return c, nil
}
