package storage

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// Usage is how much a bucket holds.
type Usage struct {
	Bytes   int64
	Objects int64
	// Complete is false when the listing stopped at its bound: Bytes and
	// Objects are then lower bounds.
	Complete bool
}

// BucketUsage sums the sizes of a bucket's objects (current versions),
// listing at most maxObjects of them so that a huge bucket costs a bounded
// amount of work.
func (a *Admin) BucketUsage(ctx context.Context, bucket string, maxObjects int64) (Usage, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing early
	u := Usage{Complete: true}
	for obj := range a.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return Usage{}, fmt.Errorf("list bucket %s: %w", bucket, obj.Err)
		}
		if u.Objects >= maxObjects {
			u.Complete = false
			break
		}
		u.Objects++
		u.Bytes += obj.Size
	}
	return u, nil
}
