package provision_test

import (
	"context"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
)

func putObject(ctx context.Context, c *minio.Client, bucket, key string) error {
	body := "hello from " + bucket
	_, err := c.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	return err
}

func getObject(ctx context.Context, c *minio.Client, bucket, key string) ([]byte, error) {
	o, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}
