package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Invalidate deletes key's cached value and voids any lease on it, so a fill
// from a source read that started before this call is refused (Lease) and the
// next read loads from the source.
func (c *Cache[T]) Invalidate(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return c.invalidate(ctx, c.cfg.entry(key))
}

func (c *Cache[T]) invalidate(ctx context.Context, ek entryKeys) error {
	// One DEL of two keys in one slot: atomic, and cluster-safe.
	if err := c.rdb.Del(ctx, ek.value, ek.lease).Err(); err != nil {
		c.stats.errors.Add(1)
		return fmt.Errorf("cache: invalidate: %w", err)
	}
	c.stats.invalidations.Add(1)
	c.l1Invalidate(ctx, ek.key)
	return nil
}

// Update runs write (which changes the source of truth for key) and keeps the
// cache consistent with the configured strategy:
//
//   - DeleteAfterUpdate, SetNXBackfill, Lease: write, then invalidate.
//   - DoubleDelete: invalidate, write, invalidate, then schedule a durable
//     delete after WithDoubleDeleteDelay (run by a DeleteWorker).
//
// When write fails, nothing more is done for the after-write steps and its
// error is returned (with DoubleDelete the first delete has happened, which
// is harmless). When the write succeeded but the invalidation failed, the
// error wraps the Redis error: the write is NOT undone and the cache may hold
// the old value until its TTL — retry Invalidate.
func (c *Cache[T]) Update(ctx context.Context, key string, write func(ctx context.Context) error) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if write == nil {
		return fmt.Errorf("%w: nil write", ErrInvalidOption)
	}
	ek := c.cfg.entry(key)
	if c.cfg.strategy == DoubleDelete {
		if err := c.invalidate(ctx, ek); err != nil {
			return err
		}
	}
	if err := write(ctx); err != nil {
		return err
	}
	if err := c.invalidate(ctx, ek); err != nil {
		return err
	}
	if c.cfg.strategy == DoubleDelete {
		return c.scheduleDelete(ctx, ek.value, time.Now().Add(c.cfg.ddDelay))
	}
	return nil
}

// Locker is what WriteThrough needs from a distributed lock; surge's lock
// package satisfies it through a small adapter (see README), and any lock
// with a TTL, a lost-lock context and a fencing token can.
type Locker interface {
	// Acquire blocks until name is locked for ttl, ctx ends, or it fails.
	Acquire(ctx context.Context, name string, ttl time.Duration) (HeldLock, error)
}

// HeldLock is one held lock.
type HeldLock interface {
	// Context is done when the lock is released, expires or is lost.
	Context() context.Context
	// Fence is a token that increases with every acquisition of the name.
	Fence() int64
	// Release unlocks (token-checked).
	Release(ctx context.Context) error
}

// WriteThrough is the auction pattern: under the distributed lock for key it
// invalidates the entry, runs write against the source (on the lock's
// context, so a lost lock cancels it), reloads the value with load, and
// rebuilds the entry with a fenced set that a writer holding a newer lock
// wins over and that voids reader leases taken before the write. It returns
// the rebuilt value. Readers should use the Lease strategy; the guarantee is
// then: once WriteThrough returns, every read sees this write or a newer one.
//
// Failures: a write error is returned after invalidating; a lost lock returns
// ErrLockLost after invalidating; a refused rebuild returns ErrFenced (a newer
// writer owns the entry). Whenever the rebuild did not happen, the entry is
// left invalidated, never stale.
func (c *Cache[T]) WriteThrough(ctx context.Context, key string, write func(ctx context.Context) error, load Loader[T]) (T, error) {
	var zero T
	if err := validateKey(key); err != nil {
		return zero, err
	}
	if write == nil || load == nil {
		return zero, fmt.Errorf("%w: nil write or load", ErrInvalidOption)
	}
	if c.cfg.locker == nil {
		return zero, ErrNoLocker
	}
	ek := c.cfg.entry(key)
	held, err := c.cfg.locker.Acquire(ctx, c.cfg.prefix+"cache:lock:"+key, c.cfg.lockTTL)
	if err != nil {
		return zero, fmt.Errorf("cache: write-through lock %q: %w", key, err)
	}
	defer func() { _ = held.Release(context.WithoutCancel(ctx)) }()
	lctx := held.Context()
	// cleanup must run even if the lock context is gone.
	cleanup := func() { _ = c.invalidate(context.WithoutCancel(ctx), ek) }

	if err := c.invalidate(lctx, ek); err != nil {
		return zero, lockErr(lctx, err)
	}
	if err := write(lctx); err != nil {
		cleanup()
		return zero, lockErr(lctx, err)
	}
	v, err := c.callLoader(lctx, key, load)
	if err != nil {
		cleanup()
		return zero, lockErr(lctx, err)
	}
	payload, err := c.codec.Marshal(v)
	if err != nil {
		cleanup()
		return zero, fmt.Errorf("cache: encode %q: %w", key, err)
	}
	n, err := fencedSetScript.Run(lctx, c.rdb, []string{ek.value, ek.lease, ek.fence},
		held.Fence(), frame(payload), ms(jitter(c.cfg.ttl, c.cfg.jitter)), ms(c.cfg.fenceTTL)).Int64()
	if err != nil {
		cleanup()
		return zero, lockErr(lctx, err)
	}
	if n == 0 {
		return v, ErrFenced
	}
	c.stats.fills.Add(1)
	c.l1Invalidate(context.WithoutCancel(ctx), key)
	return v, nil
}

func lockErr(lctx context.Context, err error) error {
	if lctx.Err() != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrLockLost, err)
	}
	return err
}
