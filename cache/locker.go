package cache

import (
	"context"
	"time"

	"github.com/surgekit/surge/lock"
)

// LockClient adapts surge's lock package to Locker for WriteThrough:
//
//	lc, _ := lock.New(rdb)                      // or lock.NewRedlock(nodes)
//	c, _ := cache.New[Bid](rdb, cache.WithStrategy(cache.Lease),
//		cache.WithLocker(cache.LockClient(lc), 10*time.Second))
//
// opts apply to every acquisition. Without opts it waits for a contended lock
// with exponential backoff (5ms..100ms) and keeps the lock alive with the
// watchdog, so a long write does not lose it; the lock's own context still
// ends the write if the lock is lost.
func LockClient(c *lock.Client, opts ...lock.AcquireOption) Locker {
	if len(opts) == 0 {
		opts = []lock.AcquireOption{
			lock.WithRetry(lock.ExponentialBackoff(5*time.Millisecond, 100*time.Millisecond)),
			lock.WithWatchdog(0),
		}
	}
	return lockClient{c: c, opts: opts}
}

type lockClient struct {
	c    *lock.Client
	opts []lock.AcquireOption
}

func (l lockClient) Acquire(ctx context.Context, name string, ttl time.Duration) (HeldLock, error) {
	h, err := l.c.Acquire(ctx, name, ttl, l.opts...)
	if err != nil {
		return nil, err
	}
	return h, nil
}
