// Package redisstore keeps scs sessions in Redis through go-redis, each
// under a key prefix (scs's own redisstore speaks redigo; we use go-redis).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is an scs.CtxStore over a go-redis client.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// New returns a Store that keeps every session under prefix+token.
func New(client redis.UniversalClient, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// FindCtx returns the data of a session, or found=false if it does not
// exist or has expired.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, err := s.client.Get(ctx, s.prefix+token).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read session from redis: %w", err)
	}
	return b, true, nil
}

// CommitCtx saves a session until its expiry.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.DeleteCtx(ctx, token)
	}
	if err := s.client.Set(ctx, s.prefix+token, b, ttl).Err(); err != nil {
		return fmt.Errorf("save session to redis: %w", err)
	}
	return nil
}

// DeleteCtx removes a session; a missing one is not an error.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if err := s.client.Del(ctx, s.prefix+token).Err(); err != nil {
		return fmt.Errorf("delete session from redis: %w", err)
	}
	return nil
}

// Find is FindCtx without a context (scs.Store).
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context (scs.Store).
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context (scs.Store).
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}
