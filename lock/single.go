package lock

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// single holds a lease on one Redis (or one slot of a Redis Cluster).
type single struct {
	rdb   redis.UniversalClient
	s     *scripts
	drift float64
}

func (b *single) redlock() bool { return false }

// canWait: WAIT counts the writes of the connection it runs on, so the
// acquire and the WAIT must share a connection; only these clients can pin one.
func (b *single) canWait() error {
	switch b.rdb.(type) {
	case *redis.Client, *redis.ClusterClient:
		return nil
	}
	return argErr("replicas", "WAIT needs a *redis.Client or *redis.ClusterClient, have %T", b.rdb)
}

func (b *single) acquire(ctx context.Context, k keys, token string, ttl time.Duration, ac *acquireConfig) (grant, error) {
	start := time.Now()
	if ac.replicas > 0 {
		return b.acquireWait(ctx, k, token, ttl, ac, start)
	}
	n, err := b.s.acquire.Run(ctx, b.rdb, []string{k.lock, k.fence}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		b.abandon(ctx, k, token)
		return grant{}, err
	}
	if n == 0 {
		return grant{}, errContended
	}
	return grant{fence: n, until: start.Add(ttl - margin(ttl, b.drift))}, nil
}

func (b *single) acquireWait(ctx context.Context, k keys, token string, ttl time.Duration, ac *acquireConfig, start time.Time) (grant, error) {
	var node *redis.Client
	switch c := b.rdb.(type) {
	case *redis.Client:
		node = c
	case *redis.ClusterClient:
		var err error
		if node, err = c.MasterForKey(ctx, k.lock); err != nil {
			return grant{}, err
		}
	default:
		return grant{}, b.canWait()
	}
	conn := node.Conn()
	defer conn.Close()
	n, err := b.s.acquire.Run(ctx, conn, []string{k.lock, k.fence}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		b.abandon(ctx, k, token)
		return grant{}, err
	}
	if n == 0 {
		return grant{}, errContended
	}
	g := grant{fence: n, until: start.Add(ttl - margin(ttl, b.drift))}
	r, err := conn.Wait(ctx, ac.replicas, ac.replicaTimeout).Result()
	if err != nil {
		g.replicas = -1 // reported, not assumed: the lock itself is held
	} else {
		g.replicas = int(r)
	}
	return g, nil
}

// abandon undoes an acquire whose reply was lost (a timeout or a cancelled
// context after the server may already have run the script): without it the key
// would stay held by a token nobody knows until its TTL ran out. The release is
// compare-and-delete on a token no one else has, so it can never free another
// owner's lock; its own failure is ignored because the TTL still bounds the cost.
func (b *single) abandon(ctx context.Context, k keys, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	_ = b.s.release.Run(ctx, b.rdb, []string{k.lock}, token).Err()
}

// abandonTimeout bounds the clean-up of a lost acquire reply.
const abandonTimeout = time.Second

func (b *single) release(ctx context.Context, k keys, token string) error {
	n, err := b.s.release.Run(ctx, b.rdb, []string{k.lock}, token).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotHeld
	}
	return nil
}

func (b *single) refresh(ctx context.Context, k keys, token string, ttl time.Duration) (time.Time, error) {
	start := time.Now()
	n, err := b.s.refresh.Run(ctx, b.rdb, []string{k.lock}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		return time.Time{}, err
	}
	if n == 0 {
		return time.Time{}, ErrNotHeld
	}
	return start.Add(ttl - margin(ttl, b.drift)), nil
}

func (b *single) pttl(ctx context.Context, k keys, token string) (time.Duration, error) {
	n, err := b.s.pttl.Run(ctx, b.rdb, []string{k.lock}, token).Int64()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%w (pttl %d)", ErrNotHeld, n)
	}
	return time.Duration(n) * time.Millisecond, nil
}
