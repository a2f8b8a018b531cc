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
	scope  func(context.Context) (string, bool)
}

// New returns a Store that keeps every session under prefix+token.
func New(client redis.UniversalClient, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// NewScoped returns a Store that keeps each session under
// prefix+scope+":"+token, the scope (the tenant's id) taken from the
// request's context: a session token carried to another tenant is looked
// up under that tenant's scope and is not found there. Without a scope in
// the context the store refuses to read or write.
func NewScoped(client redis.UniversalClient, prefix string, scope func(context.Context) (string, bool)) *Store {
	return &Store{client: client, prefix: prefix, scope: scope}
}

// ErrNoScope means a scoped store was used outside a tenant's request.
var ErrNoScope = errors.New("session store: no tenant in the request")

func (s *Store) key(ctx context.Context, token string) (string, error) {
	if s.scope == nil {
		return s.prefix + token, nil
	}
	scope, ok := s.scope(ctx)
	if !ok || scope == "" {
		return "", ErrNoScope
	}
	return s.prefix + scope + ":" + token, nil
}

// FindCtx returns the data of a session, or found=false if it does not
// exist or has expired.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	key, err := s.key(ctx, token)
	if err != nil {
		return nil, false, err
	}
	b, err := s.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read session from redis: %w", err)
	}
	return b, true, nil
}

// saveTimeout bounds saving or deleting a session. scs does either after
// the handler, with the request's context: once a request has run out its
// deadline (a database that does not answer), the save would fail too and
// scs would replace the handler's answer with the session store's error,
// blaming Redis. Saves and deletes keep the context's values (the scope)
// but get a bound of their own.
const saveTimeout = 2 * time.Second

func saveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
}

// CommitCtx saves a session until its expiry.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ctx, cancel := saveContext(ctx)
	defer cancel()
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.DeleteCtx(ctx, token)
	}
	key, err := s.key(ctx, token)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, key, b, ttl).Err(); err != nil {
		return fmt.Errorf("save session to redis: %w", err)
	}
	return nil
}

// DeleteCtx removes a session; a missing one is not an error.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	ctx, cancel := saveContext(ctx)
	defer cancel()
	key, err := s.key(ctx, token)
	if err != nil {
		return err
	}
	if err := s.client.Del(ctx, key).Err(); err != nil {
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
